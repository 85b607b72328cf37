"""Wide residual networks (Zagoruyko & Komodakis), CIFAR variant, without dropout.

WRN-d-k: a 3x3 stem with 16 channels, three stages of (d - 4) / 6 pre-activation blocks with
16k/32k/64k channels (the second and third halve the resolution), a final BN-ReLU, global
average pooling and `fc`. Block outputs of a pre-activation network are sums before any
ReLU, so only `final_act` among the probed feature layers is non-negative.
"""

import torch
import torch.nn.functional as F
from torch import nn

from model_zoo.registry import register_model


class PreActBlock(nn.Module):
    """BN-ReLU-conv twice, plus a shortcut (a 1x1 conv on the activated input if shapes change)."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        project = stride != 1 or cin != cout
        self.shortcut = nn.Conv2d(cin, cout, 1, stride=stride, bias=False) if project else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = F.relu(self.bn1(x))
        out = self.conv1(act)
        out = self.conv2(F.relu(self.bn2(out)))
        # When projecting, the shortcut reads the activated input (as in the reference code).
        return out + (self.shortcut(act) if self.shortcut is not None else x)


class WideResNet(nn.Module):
    """Stem conv, three stages of pre-activation blocks, BN, `final_act` ReLU, pool, fc."""

    def __init__(self, depth: int, widen: int, num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        if (depth - 4) % 6:
            raise ValueError(f"WRN depth must be 6n + 4, got {depth}")
        n = (depth - 4) // 6
        widths = (16 * widen, 32 * widen, 64 * widen)
        self.conv1 = nn.Conv2d(in_channels, 16, 3, padding=1, bias=False)
        cin = 16
        for i, (cout, stride) in enumerate(zip(widths, (1, 2, 2), strict=True), start=1):
            blocks = [PreActBlock(cin, cout, stride)]
            blocks += [PreActBlock(cout, cout) for _ in range(n - 1)]
            setattr(self, f"layer{i}", nn.Sequential(*blocks))
            cin = cout
        self.bn = nn.BatchNorm2d(cin)
        # A module (not F.relu) so that hooks can probe the network's last feature map.
        self.final_act = nn.ReLU()
        self.fc = nn.Linear(cin, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer3(self.layer2(self.layer1(self.conv1(x))))
        x = self.final_act(self.bn(x))
        return self.fc(x.mean(dim=(2, 3)))


def _probed(model: nn.Module) -> list[str]:
    stages = ("layer1", "layer2", "layer3")
    blocks = [f"{s}.{i}" for s in stages for i in range(len(model.get_submodule(s)))]
    return [*blocks, "final_act", "fc"]


@register_model("wrn_16_2", probed_layers=_probed)
def wrn_16_2(num_classes: int = 10, in_channels: int = 3) -> nn.Module:
    """WRN-16-2: 2 pre-activation blocks per stage, 32/64/128 channels (~0.70M parameters)."""
    return WideResNet(16, 2, num_classes, in_channels)


@register_model("wrn_40_2", probed_layers=_probed)
def wrn_40_2(num_classes: int = 10, in_channels: int = 3) -> nn.Module:
    """WRN-40-2: 6 pre-activation blocks per stage, 32/64/128 channels (~2.2M parameters)."""
    return WideResNet(40, 2, num_classes, in_channels)
