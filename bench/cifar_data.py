"""CIFAR-10 from ../shared/data/cifar10 (JPEG folders) as cached uint8 tensors, for the KD
benchmarks on real photos (bench/kd_cifar.py, bench/kd_cifar_gpu.py).

The tarballs are unpacked once under bench/out/cifar10/ (the folders stay: the knowledge
file names them as its dataset), decoded once into (N, 3, 32, 32) uint8 arrays cached as
.npy beside them, so a run never decodes a JPEG again. Class k is the k-th class folder in
sorted order, as semvec's image-folder loader numbers them.
"""

import tarfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from bench.own_model import CIFAR, CIFAR_MEAN, CIFAR_STD, OUT, _need

CACHE = OUT / "cifar10"
MEAN = torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1)
STD = torch.tensor(CIFAR_STD).view(1, 3, 1, 1)


def folder(part: str) -> Path:
    """bench/out/cifar10/<part>/<class>/*.jpg, unpacked from the shared tarball if missing."""
    root = CACHE / "cifar10" / part
    if not root.is_dir():
        print(f"unpacking CIFAR-10 {part} ...", flush=True)
        with tarfile.open(_need(CIFAR / f"{part}.tar.gz")) as tar:
            tar.extractall(CACHE, filter="data")
    return root


def _decode(root: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    images, labels = [], []
    for k, name in enumerate(classes):
        for path in sorted((root / name).iterdir()):
            with Image.open(path) as im:
                images.append(np.asarray(im.convert("RGB"), dtype=np.uint8))
            labels.append(k)
    x = np.stack(images).transpose(0, 3, 1, 2).copy()  # (N, 3, 32, 32)
    return x, np.asarray(labels, dtype=np.int64), classes


def load(part: str) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """(images uint8 (N, 3, 32, 32), labels int64 (N,), class names) of "train" or "test"."""
    x_path, y_path = CACHE / f"{part}-x.npy", CACHE / f"{part}-y.npy"
    names = CACHE / "classes.txt"
    if not (x_path.exists() and y_path.exists() and names.exists()):
        print(f"decoding CIFAR-10 {part} (once) ...", flush=True)
        x, y, classes = _decode(folder(part))
        np.save(x_path, x)
        np.save(y_path, y)
        names.write_text("\n".join(classes))
    x, y = np.load(x_path), np.load(y_path)
    return torch.from_numpy(x), torch.from_numpy(y), names.read_text().split("\n")


def stratified(labels: torch.Tensor, per_class: int, seed: int = 0) -> torch.Tensor:
    """Sorted indices of `per_class` images of every class, drawn with `seed`."""
    gen = torch.Generator().manual_seed(seed)
    picks = []
    for k in labels.unique().tolist():
        where = (labels == k).nonzero().flatten()
        picks.append(where[torch.randperm(len(where), generator=gen)[:per_class]])
    return torch.cat(picks).sort().values


def crop_flip(x: torch.Tensor, gen: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random crop after zero padding by `pad` and a random horizontal flip, on a uint8 (or
    float) batch (B, C, H, W), on whatever device it lives: one gather, no per-image Python.
    Draws its randomness on the CPU from `gen`, so CPU and GPU runs see the same crops."""
    b, _, h, w = x.shape
    dy = torch.randint(0, 2 * pad + 1, (b,), generator=gen).to(x.device)
    dx = torch.randint(0, 2 * pad + 1, (b,), generator=gen).to(x.device)
    flip = (torch.rand(b, generator=gen) < 0.5).to(x.device)
    padded = torch.nn.functional.pad(x, (pad,) * 4)
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = dx[:, None] + torch.arange(w, device=x.device)
    cols = torch.where(flip[:, None], cols.flip(1), cols)[:, None, None, :]
    chan = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    batch = torch.arange(b, device=x.device)[:, None, None, None]
    return padded[batch, chan, rows, cols]


def normalise(x: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 3, H, W) -> float32 normalised with the teacher's mean and std."""
    mean, std = MEAN.to(x.device), STD.to(x.device)
    return (x.float() / 255.0 - mean) / std
