"""torchvision ResNets and MobileNetV2 with a small-input stem, for 32x32 images.

Only the stem changes (a stride-1 3x3 first conv that takes `in_channels`; no max-pool for
the ResNets). Module names stay torchvision's, so probed paths read `layer3.1` and
torchvision-style state dicts of these variants load unchanged.
"""

from torch import nn
from torchvision import models

from model_zoo.registry import register_model


def _small_stem_resnet(name: str, num_classes: int, in_channels: int) -> nn.Module:
    model = getattr(models, name)(weights=None, num_classes=num_classes)
    model.conv1 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
    nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")
    model.maxpool = nn.Identity()
    return model


def _resnet_probed(model: nn.Module) -> list[str]:
    # Every block output (torchvision blocks end in a ReLU), then the logits.
    stages = ("layer1", "layer2", "layer3", "layer4")
    blocks = [f"{s}.{i}" for s in stages for i in range(len(model.get_submodule(s)))]
    return [*blocks, "fc"]


@register_model("resnet18", probed_layers=_resnet_probed)
def resnet18(num_classes: int = 10, in_channels: int = 3) -> nn.Module:
    """torchvision ResNet-18 with a 3x3 stride-1 stem and no max-pool (~11M parameters)."""
    return _small_stem_resnet("resnet18", num_classes, in_channels)


@register_model("resnet50", probed_layers=_resnet_probed)
def resnet50(num_classes: int = 10, in_channels: int = 3) -> nn.Module:
    """torchvision ResNet-50 with a 3x3 stride-1 stem and no max-pool (~24M parameters)."""
    return _small_stem_resnet("resnet50", num_classes, in_channels)


def _mobilenet_probed(model: nn.Module) -> list[str]:
    # All inverted-residual blocks `features.1` .. `features.17` (their outputs are linear
    # bottlenecks, not post-activation), the last 1x1 conv `features.18` (1280 channels,
    # ReLU6), then the logits. The stem `features.0` is left out: 32 low-level channels.
    return [*(f"features.{i}" for i in range(1, len(model.features))), "classifier.1"]


@register_model("mobilenet_v2", probed_layers=_mobilenet_probed, logit_layer="classifier.1")
def mobilenet_v2(num_classes: int = 10, in_channels: int = 3) -> nn.Module:
    """torchvision MobileNetV2 with a stride-1 first conv (~2.3M parameters)."""
    model = models.mobilenet_v2(weights=None, num_classes=num_classes)
    stem = model.features[0][0]
    # With the stem at stride 1 the network downsamples 16x, so a 32x32 input ends at 2x2.
    model.features[0][0] = nn.Conv2d(
        in_channels, stem.out_channels, 3, stride=1, padding=1, bias=False
    )
    nn.init.kaiming_normal_(model.features[0][0].weight, mode="fan_out")
    return model
