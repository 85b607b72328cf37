"""The public CIFAR-10 ResNet-56 of ../shared/data/teachers (option-A shortcuts), for the
benchmarks only, until `semvec align --arch` can load such a file itself.

Architecture as its README describes it; the input is re-normalised from the image
folder's ImageNet statistics to the CIFAR ones the weights expect.
"""

import torch
import torch.nn.functional as F
from torch import nn

CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)


class _Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.pad = (cout - cin) // 2 if stride != 1 or cin != cout else None

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        short = (
            x if self.pad is None else F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))
        )
        return F.relu(out + short)


class ResNet56A(nn.Module):
    def __init__(self, in_mean, in_std, num_classes: int = 10):
        super().__init__()
        gain = torch.tensor(in_std) / torch.tensor(CIFAR_STD)
        bias = (torch.tensor(in_mean) - torch.tensor(CIFAR_MEAN)) / torch.tensor(CIFAR_STD)
        self.register_buffer("gain", gain.view(1, 3, 1, 1))
        self.register_buffer("offset", bias.view(1, 3, 1, 1))
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        widths, cin = (16, 32, 64), 16
        for stage, width in enumerate(widths, start=1):
            blocks = []
            for i in range(9):
                blocks.append(_Block(cin, width, 2 if stage > 1 and i == 0 else 1))
                cin = width
            setattr(self, f"layer{stage}", nn.Sequential(*blocks))
        self.linear = nn.Linear(64, num_classes)

    def forward(self, x):
        x = x * self.gain + self.offset
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.linear(x.mean(dim=(2, 3)))

    @property
    def probed_layers(self) -> list[str]:
        """The 27 block outputs and the logits: 1,018 neurons."""
        blocks = [f"layer{s}.{i}" for s in (1, 2, 3) for i in range(9)]
        return [*blocks, "linear"]


def load_resnet56(path, in_mean, in_std) -> ResNet56A:
    saved = torch.load(path, map_location="cpu", weights_only=True)
    state = {k.removeprefix("module."): v for k, v in saved["state_dict"].items()}
    model = ResNet56A(in_mean, in_std)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if k not in ("gain", "offset")]
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(f"{path} does not fit: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model.eval()
