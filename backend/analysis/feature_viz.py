"""Feature visualisation: images optimised by gradient ascent to excite one neuron (or,
with the sign turned, to suppress it), many neurons of a layer at once as one batch.

Unconstrained pixels climb to high-frequency noise that fools the network. What makes the
images readable, after Olah et al.'s "Feature Visualization" (Distill 2017), is:
- the image lives in a **decorrelated space**: its 2-D Fourier spectrum, each frequency
  scaled by 1 / |f|, so that every frequency starts with the same energy as in natural
  images (a step moves low frequencies as easily as high ones), and its colour channels
  are decorrelated too (`colour_matrix`: the square root of the data's colour covariance);
- **transformation robustness**: each step sees the image jittered, scaled and rotated at
  random (`random_view`), so a pattern must work wherever it lands, not only at one pixel;
- a sigmoid keeps pixels inside [0, 1], then the run's own mean and std normalise them
  as the model saw its data.

A neuron's objective is its pooled activation, the spatial mean of its channel: the same
number the analysis ranks the dataset's images by, so the two compare directly.
"""

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from backend.core.errors import SemvecError
from backend.semantic.neurons import canonical, pool, resolve_modules

REDIRECTED = 0.5
"""Share of the steps (the first ones) taken with redirected ReLUs."""


LR_SMALL = 0.09
"""Adam step on the spectrum for inputs of at most 16 px (0.05, as for larger ones, is
slow to reach the extremes that 8x8 images need)."""


@dataclass(frozen=True)
class Preprocess:
    """What the model takes: C x size x size images in [0, 1], normalised by mean / std."""

    channels: int
    size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]


@dataclass(frozen=True)
class Settings:
    steps: int
    lr: float = 0.05
    batch: int = 64
    """Images optimised together (each its own neuron and sign)."""
    jitter: float = 1 / 16
    """Largest shift per step, as a share of the side (at least one pixel)."""
    scale: float = 0.1
    """Zoom per step within 1 +- this."""
    degrees: float = 10.0
    """Rotation per step within +- this."""

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("steps", "lr", "batch", "jitter", "scale", "degrees")}


def settings_for(size: int, device: torch.device, steps: int | None = None) -> Settings:
    """Defaults by input size: small images take many cheap steps and gentle transforms
    (a degree of rotation moves a lot on 8 px); a 224-px model gets fewer steps and smaller
    batches (each step is a network pass)."""
    big, cuda = size > 64, device.type == "cuda"
    batch = (32 if cuda else 8) if big else (256 if cuda else 64)
    if size <= 16:
        return Settings(steps=steps or 256, lr=LR_SMALL, batch=batch, scale=0.05, degrees=5.0)
    return Settings(steps=steps or (192 if big else 256), batch=batch)


def colour_matrix(pixels: torch.Tensor) -> torch.Tensor | None:
    """(C, C) map from decorrelated to image colours: the square root of the colour
    covariance of `pixels` (B, C, H, W) in [0, 1], its largest column scaled to 1; None for
    one channel."""
    channels = pixels.shape[1]
    if channels == 1:
        return None
    flat = pixels.permute(1, 0, 2, 3).reshape(channels, -1).double()
    cov = torch.cov(flat)
    values, vectors = torch.linalg.eigh(cov)
    root = vectors @ torch.diag(values.clamp(min=1e-8).sqrt()) @ vectors.T
    root = root / root.norm(dim=0).max()
    return root.float()


class FourierImages(nn.Module):
    """B images of C x size x size parametrised by their scaled spectrum (see the module)."""

    def __init__(
        self,
        batch: int,
        pre: Preprocess,
        colour: torch.Tensor | None,
        generator: torch.Generator,
        device: torch.device,
    ):
        super().__init__()
        size = pre.size
        fy = torch.fft.fftfreq(size)[:, None]
        fx = torch.fft.rfftfreq(size)[None, :]
        freq = (fy**2 + fx**2).sqrt().clamp(min=1.0 / size)
        weight = 1.0 / freq
        weight = weight / weight.pow(2).mean().sqrt()  # pixels of unit scale at any size
        self.register_buffer("weight", weight.to(device))
        shape = (batch, pre.channels, size, size // 2 + 1, 2)
        start = 0.01 * torch.randn(shape, generator=generator)
        self.spectrum = nn.Parameter(start.to(device))
        self.size = size
        kept = colour if colour is not None else torch.empty(0)
        self.register_buffer("colour", kept.to(device))

    def forward(self) -> torch.Tensor:
        """The images, (B, C, size, size) in [0, 1]."""
        spectrum = torch.view_as_complex(self.spectrum) * self.weight
        image = torch.fft.irfft2(spectrum, s=(self.size, self.size), norm="ortho")
        if self.colour.numel():
            image = torch.einsum("ij,bjhw->bihw", self.colour, image)
        return torch.sigmoid(image)


def random_view(
    images: torch.Tensor, settings: Settings, generator: torch.Generator
) -> torch.Tensor:
    """Each image shifted, scaled and rotated at random (edges reflected), as one
    `grid_sample` over the batch."""
    b, _, size, _ = images.shape
    rand = lambda: torch.rand(b, generator=generator) * 2 - 1  # noqa: E731
    angle = rand() * math.radians(settings.degrees)
    zoom = 1 + rand() * settings.scale
    shift = max(settings.jitter * size, 1.0) * 2 / size  # pixels in grid units ([-1, 1])
    tx, ty = rand() * shift, rand() * shift
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta.to(images.device), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, padding_mode="reflection", align_corners=False)


class _RedirectedReLU(torch.autograd.Function):
    """ReLU whose gradient also reaches inputs below zero when it pushes them the way the
    image's objective wants (up for +1, down for -1; `sign` per image). Through a plain ReLU
    a neuron silent on the starting noise gets no gradient and never moves, and a
    suppressing image stops changing as soon as the neuron reads 0 (Lucid's "redirected
    ReLU", with a sign)."""

    @staticmethod
    def forward(ctx, x, sign):
        ctx.save_for_backward(x, sign)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad):
        x, sign = ctx.saved_tensors
        sign = sign.view(-1, *[1] * (x.dim() - 1))
        return grad * ((x > 0) | (grad * sign < 0)), None


@contextlib.contextmanager
def redirected_relus(model: nn.Module, sign: torch.Tensor):
    """Every `nn.ReLU` of `model` redirected for images of objective `sign` (B,) while
    inside (and not in place, so that its input is still there)."""
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    inplace = [m.inplace for m in relus]

    def redirect(_module, inputs, _output):
        return _RedirectedReLU.apply(inputs[0], sign)

    hooks = [m.register_forward_hook(redirect) for m in relus]
    for m in relus:
        m.inplace = False
    try:
        yield
    finally:
        for m, flag in zip(relus, inplace, strict=True):
            m.inplace = flag
        for hook in hooks:
            hook.remove()


class _Reached(Exception):
    """Raised by the hook once the layer has run: the rest of the network is not needed."""


def layer_activations(model: nn.Module, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """(B, width) pooled activations of `module` on `x` (the forward stops there)."""
    found: dict[str, torch.Tensor] = {}

    def hook(mod, _inputs, output):
        if isinstance(output, tuple | list):
            output = output[0]
        found["h"] = pool(canonical(mod, output))
        raise _Reached

    handle = module.register_forward_hook(hook)
    try:
        model(x)
    except _Reached:
        pass
    finally:
        handle.remove()
    if "h" not in found:
        raise SemvecError("the layer did not run in the model's forward pass")
    return found["h"].float()


def steps_needed(images: int, settings: Settings) -> int:
    """Optimiser steps `optimise` takes for this many images."""
    return -(-images // settings.batch) * settings.steps


@dataclass
class Optimised:
    pixels: torch.Tensor
    """(B, C, size, size) in [0, 1], on the CPU."""
    activation: torch.Tensor
    """(B,) the neuron's pooled activation on its image, untransformed."""


def optimise(
    model: nn.Module,
    layer: str,
    channels: list[int],
    signs: list[int],
    pre: Preprocess,
    settings: Settings,
    colour: torch.Tensor | None = None,
    device: torch.device | str = "cpu",
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> Optimised:
    """One image per (channel, sign) of `layer`: sign +1 maximises the channel's pooled
    activation, -1 minimises it. Images are optimised `settings.batch` at a time;
    `progress(1)` hears of every step of every batch (`steps_needed` in all)."""
    if len(channels) != len(signs):
        raise ValueError("one sign per channel")
    device = torch.device(device)
    (module,) = resolve_modules(model, [layer])
    model = model.to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    mean = torch.tensor(pre.mean, device=device).view(1, -1, 1, 1)
    std = torch.tensor(pre.std, device=device).view(1, -1, 1, 1)
    generator = torch.Generator().manual_seed(seed)
    pixels, values = [], []
    for start in range(0, len(channels), settings.batch):
        chan = torch.tensor(channels[start : start + settings.batch], device=device)
        sign = torch.tensor(signs[start : start + settings.batch], device=device).float()
        rows = torch.arange(len(chan), device=device)
        images = FourierImages(len(chan), pre, colour, generator, device)
        opt = torch.optim.Adam(images.parameters(), lr=settings.lr)
        silent = torch.ones(len(chan), dtype=torch.bool, device=device)
        for step in range(settings.steps):
            # Redirected early on, and later for exciting images whose neuron is still 0.
            early = step < settings.steps * REDIRECTED
            redirect = sign if early else sign * (silent & (sign > 0))
            with redirected_relus(model, redirect) if redirect.any() else contextlib.nullcontext():
                view = random_view(images(), settings, generator)
                h = layer_activations(model, module, (view - mean) / std)
            value = h[rows, chan]
            silent = value.detach() <= 0
            loss = -(value * sign).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if progress is not None:
                progress(1)
        with torch.no_grad():
            final = images()
            h = layer_activations(model, module, (final - mean) / std)
        pixels.append(final.cpu())
        values.append(h[rows, chan].cpu())
    return Optimised(torch.cat(pixels), torch.cat(values))
