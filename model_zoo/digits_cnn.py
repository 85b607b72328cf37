"""Small CNNs for 8x8 digits (any size works: the head pools globally)."""

from torch import nn

from model_zoo.registry import register_model


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=False)
    )


class DigitsCNN(nn.Module):
    """Three conv blocks (the second followed by 2x2 max-pooling), global average pool, fc."""

    def __init__(self, widths: tuple[int, int, int], num_classes: int = 10, in_channels: int = 1):
        super().__init__()
        w1, w2, w3 = widths
        self.conv1 = _block(in_channels, w1)
        self.conv2 = _block(w1, w2)
        self.pool = nn.MaxPool2d(2)
        self.conv3 = _block(w2, w3)
        self.fc = nn.Linear(w3, num_classes)

    def forward(self, x):
        x = self.pool(self.conv2(self.conv1(x)))
        x = self.conv3(x).mean(dim=(2, 3))
        return self.fc(x)


def _probed(model: nn.Module) -> list[str]:
    return ["conv1", "conv2", "conv3", "fc"]


@register_model("digits_cnn", probed_layers=_probed)
def digits_cnn(num_classes: int = 10, in_channels: int = 1) -> nn.Module:
    """Digits teacher: 32-64-128 channels (~94k parameters, 234 probed neurons)."""
    return DigitsCNN((32, 64, 128), num_classes, in_channels)


@register_model("digits_cnn_small", probed_layers=_probed)
def digits_cnn_small(num_classes: int = 10, in_channels: int = 1) -> nn.Module:
    """Digits student: 8-16-32 channels (~6k parameters, under 1/4 of the teacher's)."""
    return DigitsCNN((8, 16, 32), num_classes, in_channels)
