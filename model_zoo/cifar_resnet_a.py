"""CIFAR ResNets exactly as He et al. (2016, section 4.2) describe them, with parameter-free
"option A" shortcuts, under the module names of the widely shared public checkpoints
(`conv1`, `bn1`, `layer1..3`, `linear`), so those checkpoints load as they were saved.

Depth 6n + 2: a 3x3 conv (16) + BN + ReLU, three stages of n BasicBlocks with 16, 32 and
64 channels (the second and third start at stride 2), global average pooling, `linear`.
Where a block changes the shape, its shortcut keeps every second pixel and pads the new
channels with zeros, a quarter of the block's width on each side.
"""

import torch
import torch.nn.functional as F
from torch import nn

from model_zoo.cifar_resnet import BasicBlock
from model_zoo.registry import register_model


class PadShortcut(nn.Module):
    """Option A: subsample by `stride`, zero-pad `pad` channels on each side (no weights)."""

    def __init__(self, stride: int, pad: int):
        super().__init__()
        self.stride, self.pad = stride, pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, self.pad, self.pad))


class BasicBlockA(BasicBlock):
    """The zoo's BasicBlock with the option-A shortcut where the shape changes."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__(cin, cout, stride)
        if stride != 1 or cin != cout:
            self.shortcut = PadShortcut(stride, (cout - cin) // 2)


class CifarResNetA(nn.Module):
    def __init__(self, depth: int, num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(f"CIFAR ResNet depth must be 6n + 2, got {depth}")
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(in_channels, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        cin = 16
        for i, (cout, stride) in enumerate(((16, 1), (32, 2), (64, 2)), start=1):
            blocks = [BasicBlockA(cin, cout, stride)] + [
                BasicBlockA(cout, cout) for _ in range(n - 1)
            ]
            setattr(self, f"layer{i}", nn.Sequential(*blocks))
            cin = cout
        self.linear = nn.Linear(64, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                nn.init.kaiming_normal_(m.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.linear(x.mean(dim=(2, 3)))


def _probed(model: nn.Module) -> list[str]:
    stages = ("layer1", "layer2", "layer3")
    blocks = [f"{s}.{i}" for s in stages for i in range(len(model.get_submodule(s)))]
    return [*blocks, "linear"]


def _register(depth: int) -> None:
    def build(num_classes: int = 10, in_channels: int = 3) -> nn.Module:
        return CifarResNetA(depth, num_classes, in_channels)

    build.__doc__ = (
        f"CIFAR ResNet-{depth} with option-A shortcuts and a `linear` head, as the public "
        "checkpoints save it"
    )
    register_model(f"resnet{depth}_a", probed_layers=_probed, logit_layer="linear")(build)


for _depth in (8, 14, 20, 32, 44, 56, 110):
    _register(_depth)
