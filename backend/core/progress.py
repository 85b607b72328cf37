"""Progress reporting for long work: the CLI draws bars, jobs record it."""

import sys


class Reporter:
    """Receives progress. The base class ignores everything."""

    def stage(self, name: str, total: int) -> None:
        """A new stage of `total` steps (0 when unknown) begins."""

    def advance(self, n: int = 1, text: str = "") -> None:
        """`n` more steps of the current stage are done."""

    def epoch(self, metrics: dict) -> None:
        """An epoch ended with these metrics."""

    def message(self, text: str) -> None:
        """A line for the user."""


def _redraws(stream) -> bool:
    """Whether `stream` shows a bar redrawn in place: a terminal, or a notebook's output."""
    return stream.isatty() or type(stream).__module__.startswith("ipykernel")


class TqdmReporter(Reporter):
    """Progress on stderr. On a terminal, one live bar per stage, cleared when the stage
    ends, so what stays on screen is the result lines; written to a file or a pipe (a log,
    `make run`'s output), a line per stage and no bars (their redraws would fill the log)."""

    def __init__(self, stream=None):
        self._bar = None
        self._stream = stream or sys.stderr
        self._live = _redraws(self._stream)

    def stage(self, name: str, total: int) -> None:
        from tqdm import tqdm

        self.close()
        if not self._live:
            print(f"{name}…", file=self._stream, flush=True)
            return
        self._bar = tqdm(
            total=total or None,
            desc=name,
            unit="step",
            file=self._stream,
            dynamic_ncols=True,
            leave=False,
        )

    def advance(self, n: int = 1, text: str = "") -> None:
        if self._bar is not None:
            self._bar.update(n)
            if text:
                self._bar.set_postfix_str(text, refresh=False)

    def epoch(self, metrics: dict) -> None:
        shown = "  ".join(
            f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items()
        )
        self.message(shown)

    def message(self, text: str) -> None:
        if self._bar is not None:
            self._bar.write(text, file=self._stream)  # above the live bar
        else:
            print(text, file=self._stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
