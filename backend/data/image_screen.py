"""Which files of an image folder can be used, read from their headers only.

One file that is not an image (a text file named `.png`), or one that would take
gigabytes to decode (a 400 KB PNG of 20000 x 20000 pixels, a JPEG that declares
65000 x 65000), must not end a whole job. Each file is opened with PIL, which reads the
header and decodes no pixel, and its size is checked against a pixel budget; those that
fail are left out with the reason, and a run records which (see `DataSpec.skip`), so that
reopening its folder needs no second look.
"""

import os
import warnings
from collections.abc import Iterable

from PIL import Image

MAX_PIXELS = 89_478_485
"""The most pixels a photo may have (PIL's own threshold for a likely decompression bomb,
about 9,459 x 9,459): decoded, 256 MB of RGB."""
SHOWN = 3
"""Skipped files named in a log line or a run's warning; the rest are counted."""

Sample = tuple[str, int]
Skipped = tuple[str, str]
"""(the file's path relative to the folder, why it cannot be used)."""


def problem(path: str) -> str | None:
    """Why the file at `path` cannot be used as an image, or None when it can."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # judged below
            with Image.open(path) as image:
                width, height = image.size
    except Image.DecompressionBombError:
        return f"more than {MAX_PIXELS:,} pixels"
    except Exception:  # PIL raises many types for a file that is not an image
        return "not an image PIL can read"
    if width * height > MAX_PIXELS:
        return f"{width:,} x {height:,} pixels, more than {MAX_PIXELS:,}"
    return None


def screen(samples: list[Sample], root: str) -> tuple[list[Sample], list[Skipped]]:
    """(the usable samples, in order; the skipped files with their reasons)."""
    kept, skipped = [], []
    for sample in samples:
        reason = problem(sample[0])
        if reason is None:
            kept.append(sample)
        else:
            skipped.append((os.path.relpath(sample[0], root), reason))
    return kept, skipped


def leave_out(samples: list[Sample], root: str, names: Iterable[str]) -> list[Sample]:
    """`samples` less the files `names` (paths relative to `root`) that a run recorded."""
    names = set(names)
    if not names:
        return samples
    return [s for s in samples if os.path.relpath(s[0], root) not in names]


def first_usable(samples: list[Sample]) -> str | None:
    """The path of the first usable image (the rest are not looked at), or None."""
    return next((path for path, _ in samples if problem(path) is None), None)


def in_words(skipped: list[Skipped], total: int) -> str:
    """`left out 3 of 43 files that are not usable images: a.png (not an image PIL can
    read), ...`, the first SHOWN named."""
    named = ", ".join(f"{name} ({why})" for name, why in skipped[:SHOWN])
    more = f" and {len(skipped) - SHOWN:,} more" if len(skipped) > SHOWN else ""
    files = "file" if total == 1 else "files"
    return (
        f"left out {len(skipped):,} of {total:,} {files} that are not usable images: {named}{more}"
    )


def run_warnings(skip: list[str] | None) -> list[str]:
    """The line a run shows for the files its folder's reading left out ([] for none)."""
    if not skip:
        return []
    named = ", ".join(skip[:SHOWN]) + (
        f" and {len(skip) - SHOWN:,} more" if len(skip) > SHOWN else ""
    )
    files = "file" if len(skip) == 1 else "files"
    return [f"{len(skip):,} {files} of the image folder left out, not usable as images: {named}"]
