"""CIFAR ResNets as used in the knowledge-distillation literature (CRD benchmark).

Depth is 6n + 2: a 3x3 stem, three stages of n BasicBlocks (the second and third halve the
resolution), global average pooling and `fc`. The "x4" variants have a 32-channel stem and
stages of 64/128/256 channels. The head pools adaptively, so any input size works.
"""

import torch
import torch.nn.functional as F
from torch import nn

from model_zoo.registry import register_model


class BasicBlock(nn.Module):
    """Two 3x3 convs plus a shortcut; the ReLU runs inside, so the output is post-activation."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        if stride != 1 or cin != cout:
            # A 1x1 projection whenever the shape changes (option B of the ResNet paper).
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)
            )
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """Stem conv, three stages of `blocks_per_stage` BasicBlocks, global average pool, fc."""

    def __init__(
        self,
        blocks_per_stage: int,
        widths: tuple[int, int, int, int],
        num_classes: int = 10,
        in_channels: int = 3,
    ):
        super().__init__()
        stem, *stage_widths = widths
        self.conv1 = nn.Conv2d(in_channels, stem, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        cin = stem
        for i, (cout, stride) in enumerate(zip(stage_widths, (1, 2, 2), strict=True), start=1):
            blocks = [BasicBlock(cin, cout, stride)]
            blocks += [BasicBlock(cout, cout) for _ in range(blocks_per_stage - 1)]
            setattr(self, f"layer{i}", nn.Sequential(*blocks))
            cin = cout
        self.fc = nn.Linear(cin, num_classes)
        _init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(x.mean(dim=(2, 3)))


def _init_weights(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def _blocks(model: nn.Module, stages: tuple[str, ...]) -> list[str]:
    return [f"{stage}.{i}" for stage in stages for i in range(len(model.get_submodule(stage)))]


def _probed(model: nn.Module) -> list[str]:
    # Every block output (post-ReLU), then the logits.
    return [*_blocks(model, ("layer1", "layer2", "layer3")), "fc"]


def _depth_to_blocks(depth: int) -> int:
    if (depth - 2) % 6:
        raise ValueError(f"CIFAR ResNet depth must be 6n + 2, got {depth}")
    return (depth - 2) // 6


@register_model("resnet8", probed_layers=_probed)
def resnet8(num_classes: int = 10, in_channels: int = 3) -> nn.Module:
    """CIFAR ResNet-8: 1 block per stage, 16/32/64 channels (~0.08M parameters), a student."""
    return CifarResNet(_depth_to_blocks(8), (16, 16, 32, 64), num_classes, in_channels)


@register_model("resnet20", probed_layers=_probed)
def resnet20(num_classes: int = 10, in_channels: int = 3) -> nn.Module:
    """CIFAR ResNet-20: 3 blocks per stage, 16/32/64 channels (~0.28M parameters)."""
    return CifarResNet(_depth_to_blocks(20), (16, 16, 32, 64), num_classes, in_channels)


@register_model("resnet56", probed_layers=_probed)
def resnet56(num_classes: int = 10, in_channels: int = 3) -> nn.Module:
    """CIFAR ResNet-56: 9 blocks per stage, 16/32/64 channels (~0.86M parameters)."""
    return CifarResNet(_depth_to_blocks(56), (16, 16, 32, 64), num_classes, in_channels)


@register_model("resnet8x4", probed_layers=_probed)
def resnet8x4(num_classes: int = 10, in_channels: int = 3) -> nn.Module:
    """CIFAR ResNet-8x4: 1 block per stage, 32-channel stem, 64/128/256 (~1.2M parameters)."""
    return CifarResNet(_depth_to_blocks(8), (32, 64, 128, 256), num_classes, in_channels)


@register_model("resnet32x4", probed_layers=_probed)
def resnet32x4(num_classes: int = 10, in_channels: int = 3) -> nn.Module:
    """CIFAR ResNet-32x4: 5 blocks per stage, 32-channel stem, 64/128/256 (~7.4M parameters)."""
    return CifarResNet(_depth_to_blocks(32), (32, 64, 128, 256), num_classes, in_channels)
