"""The run's picture sheet: one small picture per neuron, all in one image, for the map's
Pictures view.

A neuron's picture is its top image cropped around the peak of its activation map (the
map the panel's heatmap draws); a neuron of a vector layer (no map) shows its whole top
image, and one with no top image (no analysis row, a dead neuron) a grey tile. The
`optimised` sheet shows instead each neuron's optimised image where a `visualize` job made
one (its top-image crop elsewhere), and is made again once more images were made.

The pictures are laid out row by row in neuron-id order in `pictures/<source>.jpg`, with
`pictures/<source>.json` saying the tile size and the number of columns, so that the page
draws any neuron as a CSS sprite of one image fetched once.
"""

import json
import math
import os
import time
from pathlib import Path

import numpy as np
from PIL import Image

from backend.core.errors import SemvecError
from backend.core.progress import Reporter
from backend.runs.store import Run

FOLDER = "pictures"
SOURCES = {
    "top": "top image, cropped around the activation's peak",
    "optimised": "optimised image where one was made, else the top image's crop",
}
TILE = 32
"""Pixels a side of each picture in the sheet (the page draws it at about this size)."""
QUALITY = 88
FORMAT = 1
MIN_CROP = 0.5
"""The smallest crop, as a fraction of the region the model saw: a peak on a fine map
(an early layer's) still shows its surroundings."""
MIN_CROP_PX = 16
"""...and never fewer pixels a side than this (all of an 8x8 digit, half of a CIFAR photo):
a crop of a few pixels shows no shape."""
BLANK = (230, 233, 238)


def sheet_paths(run: Run, source: str = "top") -> tuple[Path, Path]:
    folder = run.folder / FOLDER
    return folder / f"{source}.jpg", folder / f"{source}.json"


def _features_stamp(run: Run) -> int:
    """Changes whenever a `visualize` job adds optimised images to the run."""
    from backend.services.feature_viz import FOLDER as FEATURES

    try:
        return (run.folder / FEATURES).stat().st_mtime_ns
    except OSError:
        return 0


def read_index(run: Run, source: str = "top") -> dict | None:
    """The sheet's index when the sheet is made and up to date, else None."""
    sheet, index = sheet_paths(run, source)
    try:
        body = json.loads(index.read_text())
    except (OSError, ValueError):
        return None
    if body.get("format") != FORMAT or not sheet.exists():
        return None
    if source == "optimised" and body.get("features") != _features_stamp(run):
        return None  # optimised images were made since
    return body


def _crop_box(heat: np.ndarray | None, width: int, height: int, box) -> tuple[int, ...]:
    """(left, top, right, bottom) pixels of the photo to show: a square around the peak of
    `heat` (h, w), of a side that covers about three cells of the map; the whole region
    the model saw when there is no map."""
    left, top = box[0] * width, box[1] * height
    region_w, region_h = (box[2] - box[0]) * width, (box[3] - box[1]) * height
    if heat is None or heat.size <= 1:
        side, cx, cy = min(region_w, region_h), left + region_w / 2, top + region_h / 2
    else:
        h, w = heat.shape
        row, col = divmod(int(np.argmax(heat)), w)
        fraction = min(1.0, max(MIN_CROP, 3 / min(h, w)))
        side = max(fraction * min(region_w, region_h), min(MIN_CROP_PX, region_w, region_h))
        cx = left + (col + 0.5) / w * region_w
        cy = top + (row + 0.5) / h * region_h
    half = max(side / 2, 1.0)
    # Kept inside the region the model saw: a peak at its edge shows what it saw.
    cx = min(max(cx, left + half), left + region_w - half)
    cy = min(max(cy, top + half), top + region_h - half)
    return (round(cx - half), round(cy - half), round(cx + half), round(cy + half))


def _picture(raw: np.ndarray, heat, box) -> Image.Image:
    rgb = np.repeat(raw[..., None], 3, axis=2) if raw.ndim == 2 else raw[..., :3]
    image = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8))
    crop = image.crop(_crop_box(heat, image.width, image.height, box))
    # Small crops (digits, CIFAR) stay blocky: their pixels are what the model saw.
    resample = Image.NEAREST if max(crop.size) <= TILE else Image.BILINEAR
    return crop.resize((TILE, TILE), resample)


def _optimised(run: Run, i: int) -> Image.Image | None:
    from backend.services.feature_viz import feature_image

    raw = feature_image(run, i, "max")
    if raw is None:
        return None
    rgb = np.repeat(raw[..., None], 3, axis=2) if raw.ndim == 2 else raw[..., :3]
    image = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8))
    resample = Image.NEAREST if max(image.size) <= TILE else Image.BILINEAR
    return image.resize((TILE, TILE), resample)


def make_sheet(run: Run, reporter: Reporter | None = None, source: str = "top") -> dict:
    """Make (or remake) the run's picture sheet of `source` and return its index."""
    from backend.services import images
    from backend.services.analysis import load_analysis

    if source not in SOURCES:
        raise SemvecError(f"unknown picture source {source!r}; known: {', '.join(SOURCES)}")
    stamp = _features_stamp(run)
    reporter = reporter or Reporter()
    started = time.perf_counter()
    analysis = load_analysis(run)
    if analysis is None:
        raise SemvecError(f"run {run.id} has not been analysed; run `semvec analyze` first")
    split = run.metrics().get("analysis", {}).get("split", "all")
    n = len(analysis)
    columns = max(1, math.ceil(math.sqrt(n)))
    sheet = Image.new("RGB", (columns * TILE, math.ceil(n / columns) * TILE), BLANK)
    photos: dict[int, tuple] = {}  # neurons often share a top image: each is read once
    blank, optimised = [], []
    reporter.stage("pictures of the neurons", n)
    firsts = analysis.top_indices[:, 0].tolist()
    for i, index in enumerate(firsts):
        made = _optimised(run, i) if source == "optimised" else None
        if made is not None:
            optimised.append(i)
            row, col = divmod(i, columns)
            sheet.paste(made, (col * TILE, row * TILE))
        elif index < 0:
            blank.append(i)
        else:
            if index not in photos:
                photos[index] = images.photo(run, split, index)
            raw, box = photos[index]
            maps = analysis.maps_of(i)
            heat = None if maps is None else maps[0].float().numpy()
            row, col = divmod(i, columns)
            sheet.paste(_picture(raw, heat, box), (col * TILE, row * TILE))
        if i % 500 == 499:
            reporter.advance(500)
    reporter.advance(n % 500)
    index = {
        "format": FORMAT,
        "tile": TILE,
        "columns": columns,
        "count": n,
        "blank": blank,
        "optimised": optimised,
        "source": source,
        "features": stamp,
        "seconds": round(time.perf_counter() - started, 2),
    }
    _write(run, sheet, index)
    return index


def _write(run: Run, sheet: Image.Image, index: dict) -> None:
    """Sheet first, index last (atomically): an index is only ever read beside its sheet."""
    sheet_path, index_path = sheet_paths(run, index["source"])
    sheet_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = sheet_path.with_suffix(f".{os.getpid()}.tmp")
    sheet.save(tmp, format="JPEG", quality=QUALITY)
    os.replace(tmp, sheet_path)
    index["bytes"] = sheet_path.stat().st_size
    tmp = index_path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(index))
    os.replace(tmp, index_path)
