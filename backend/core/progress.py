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


class TqdmReporter(Reporter):
    """Progress bars on stderr, one per stage."""

    def __init__(self):
        self._bar = None

    def stage(self, name: str, total: int) -> None:
        from tqdm import tqdm

        self.close()
        self._bar = tqdm(
            total=total or None,
            desc=name,
            unit="step",
            file=sys.stderr,
            dynamic_ncols=True,
            leave=True,
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
            self._bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
