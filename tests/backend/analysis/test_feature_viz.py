"""Feature visualisation at 224 px: the optimised image excites its neuron more than real
photos do, under the preprocessing (mean, std) it is given, and the transforms keep shape."""

import numpy as np
import torch
from sklearn.datasets import load_sample_images
from torch import nn

from backend.analysis.feature_viz import (
    Preprocess,
    Settings,
    colour_matrix,
    layer_activations,
    optimise,
    random_view,
)

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def _photos(size: int = 224) -> torch.Tensor:
    """scikit-learn's two photos, centre-cropped and resized: (2, 3, size, size) in [0, 1]."""
    out = []
    for image in load_sample_images().images:
        h, w, _ = image.shape
        side = min(h, w)
        crop = image[(h - side) // 2 : (h + side) // 2, (w - side) // 2 : (w + side) // 2]
        x = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1).float() / 255
        out.append(nn.functional.interpolate(x[None], size=(size, size), mode="area")[0])
    return torch.stack(out)


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 7, stride=4, padding=3),
        nn.ReLU(),
        nn.Conv2d(8, 6, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(6, 4),
    )


def test_a_224_px_image_beats_real_photos_for_its_neuron():
    net, photos = _net().eval(), _photos()
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    (layer,) = [m for name, m in net.named_modules() if name == "3"]
    with torch.no_grad():
        on_photos = layer_activations(net, layer, (photos - mean) / std)
    pre = Preprocess(3, 224, MEAN, STD)
    settings = Settings(steps=64, lr=0.1, batch=4)
    result = optimise(net, "3", [0, 1, 0], [1, 1, -1], pre, settings, colour_matrix(photos))
    assert result.pixels.shape == (3, 3, 224, 224)
    assert float(result.pixels.min()) >= 0 and float(result.pixels.max()) <= 1
    for k, channel in enumerate([0, 1]):  # a random network: beating real photos is the bar
        assert result.activation[k] > on_photos[:, channel].max()
    assert result.activation[2] < on_photos[:, 0].min()  # the suppressing image
    # The activation it reports is the neuron's, under the given normalisation.
    with torch.no_grad():
        again = layer_activations(net, layer, (result.pixels - mean) / std)
    assert torch.allclose(again[torch.arange(3), torch.tensor([0, 1, 0])], result.activation)


def test_colour_matrix_and_views():
    photos = _photos(32)
    root = colour_matrix(photos)
    cov = torch.cov(photos.permute(1, 0, 2, 3).reshape(3, -1))
    assert torch.allclose(root @ root.T / (root @ root.T).max(), cov / cov.max(), atol=1e-3)
    assert colour_matrix(photos[:, :1]) is None  # grey images: nothing to decorrelate
    view = random_view(photos, Settings(steps=1), torch.Generator().manual_seed(0))
    assert view.shape == photos.shape and not torch.equal(view, photos)
