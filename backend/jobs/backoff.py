"""Back-off for a loop that keeps failing (the runner's rounds while jobs.db cannot be
used): the wait doubles from the loop's own period up to a cap, and a failure is worth a
log line only when the wait grows or the reason changes, so a lasting fault (a damaged
jobs.db) writes a handful of lines, not five a second for ever."""

BACKOFF_CAP_S = 10.0
"""The longest wait between two tries: a freed disk is noticed within this many seconds."""


class Backoff:
    def __init__(self, first_s: float, cap_s: float = BACKOFF_CAP_S):
        self.first_s, self.cap_s = first_s, max(cap_s, first_s)
        self.wait_s = first_s
        self.reason: str | None = None
        """Why the last try failed; None while tries succeed."""

    def failed(self, reason: str) -> tuple[float, str | None]:
        """(seconds to wait before the next try, the line to log or None)."""
        grown = self.reason is not None and self.wait_s < self.cap_s
        if self.reason is not None:
            self.wait_s = min(self.cap_s, 2 * self.wait_s)
        line = None
        if reason != self.reason:
            line = f"{reason}; trying again in {self.wait_s:g} s"
        elif grown:
            line = f"still failing; trying again in {self.wait_s:g} s"
            if self.wait_s == self.cap_s:
                line += f", then every {self.cap_s:g} s until it works"
        self.reason = reason
        return self.wait_s, line

    def succeeded(self) -> str | None:
        """The line to log when tries work again after failing, else None."""
        line = "working again" if self.reason is not None else None
        self.wait_s, self.reason = self.first_s, None
        return line
