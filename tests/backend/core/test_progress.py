"""The command line's progress on a real terminal (a pseudo-terminal): a live bar per
stage that is cleared when the stage ends, so only the result lines stay on screen."""

import fcntl
import io
import os
import struct
import termios

from backend.core.progress import TqdmReporter


def _screen(data: str) -> list[str]:
    """The lines a terminal shows after `data` (`\\r` returns to the line's start, text
    overwrites what is there)."""
    lines: list[list[str]] = [[]]
    col = 0
    for ch in data:
        if ch == "\n":
            lines.append([])
            col = 0
        elif ch == "\r":
            col = 0
        else:
            line = lines[-1]
            line[col : col + 1] = [ch]
            col += 1
    return [shown for line in lines if (shown := "".join(line).rstrip())]


def _read_all(fd: int) -> str:
    os.set_blocking(fd, False)
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            return b"".join(chunks).decode()
        if not chunk:
            return b"".join(chunks).decode()
        chunks.append(chunk)


def test_on_a_terminal_the_bars_go_and_the_result_lines_stay():
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    terminal = io.TextIOWrapper(os.fdopen(slave, "wb", buffering=0), write_through=True)
    reporter = TqdmReporter(stream=terminal)
    reporter.stage("alignment", 3)
    reporter.advance(3)
    reporter.message("quality on held-out data: r 0.99")
    reporter.stage("analysis", 2)
    reporter.advance(2)
    reporter.close()
    written = _read_all(master)
    terminal.close()
    os.close(master)
    assert "alignment:" in written and "3/3" in written  # a live bar was drawn
    assert _screen(written) == ["quality on held-out data: r 0.99"]
