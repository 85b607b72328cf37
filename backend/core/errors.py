"""Errors a user can fix. The CLI and the API show their message, never a traceback."""

import difflib


class SemvecError(Exception):
    """Base class for problems caused by input (a name, a path, a file), not by a bug."""


class UnknownNameError(SemvecError, ValueError):
    """A name (architecture, dataset, layer, method) that is not one of the known choices."""

    def __init__(self, kind: str, name: str, choices: list[str]):
        self.kind, self.name, self.choices = kind, name, list(choices)
        close = difflib.get_close_matches(str(name), self.choices, n=5, cutoff=0.6)
        if close and len(self.choices) > 10:
            hint = f"close matches: {', '.join(close)} (of {len(self.choices)} known)"
        else:
            hint = "choose one of: " + ", ".join(self.choices[:40])
            hint += " ..." if len(self.choices) > 40 else ""
        super().__init__(f"unknown {kind} {name!r}; {hint}")


class DatasetMissingError(SemvecError, FileNotFoundError):
    """A dataset's files are not where they were looked for."""


class CheckpointError(SemvecError):
    """A checkpoint that is corrupt, unsafe (pickled objects) or does not fit the model."""


class RunNotFoundError(SemvecError, FileNotFoundError):
    """A run id that has no folder in the data home."""
