"""HTTP over a plain socket, for requests no client library sends: a body that declares
gigabytes and sends a few bytes, or a chunked body that never ends."""

import socket
import time


def raw_request(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes = b"",
    chunks: int = 0,
    timeout: float = 15,
) -> tuple[int, bytes]:
    """Send the head and `body` (then `chunks` more 64 KB chunks when the body is chunked),
    and read the answer; (status, body). A server that waits for the rest of a body it was
    promised times the test out."""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head.encode() + body)
        try:
            for _ in range(chunks):
                sock.sendall(b"10000\r\n" + b"x" * 0x10000 + b"\r\n")
        except OSError:
            pass  # the server answered and closed: what a cap should do
        deadline = time.monotonic() + timeout
        data = b""
        while b"\r\n\r\n" not in data or len(data) < _expected(data):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no full answer after {timeout} s: {data[:200]!r}")
            try:
                more = sock.recv(65536)
            except ConnectionResetError:
                break
            if not more:
                break
            data += more
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1]


def _expected(data: bytes) -> int:
    head, _, _rest = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(head) + 4 + int(value)
    return len(data) + 1
