"""Which of the zoo's architectures the Distillation tab proposes as a teacher's student.

Every zoo model pools globally before its classifier, so any of them runs on any image
size; what makes one fit is the kind of input it was designed for: the small digits CNN
for greyscale and tiny images, a CIFAR ResNet for colour photos."""

TINY = 16
"""Up to this side in pixels an image is tiny (digits are 8 px): a ResNet's two stride-2
stages would leave 4 x 4 or less, where the digits CNN's one 2x2 pool keeps more."""


def proposed_student(channels: int, image_size: int) -> str:
    """The zoo's student for a teacher whose inputs have `channels` and `image_size` (px)."""
    if channels == 1 or image_size <= TINY:
        return "digits_cnn_small"
    return "resnet8"
