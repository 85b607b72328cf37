"""semvec from Python (a notebook, a script): hand over a model and images, get a run that
`semvec serve` shows.

    import semvec, torchvision
    model = torchvision.models.resnet18(num_classes=10)
    model.load_state_dict(...)                       # your weights
    run = semvec.align(model, "photos/", arch="torchvision:resnet18", image_size=32)
    print(run.id, run.metrics()["quality"])          # then: semvec serve

`data` is a folder of images (class sub-folders, or flat with no labels), a dataset name
(`digits`, `cifar10` with `root=`), or a map-style torch `Dataset` whose items are
`(image, label)` or an image alone (PIL images, tensors in [0, 1] or uint8 arrays, before
any Normalize: pass `mean=`/`std=` instead). A Dataset is written once as PNG files into an
image folder of the data home (`datasets/<type name>-<hash>/`, one sub-folder per class, named
from `dataset.classes` when it has them; flat without labels), so the run rebuilds from the
data home and the page shows its images. `arch` tells semvec how to rebuild the model from the
run folder: a zoo name, `torchvision:NAME`, `timm:NAME`, `plugin:NAME`, or your own
`path/to/file.py:function` (copied into the run). Without it, semvec looks for a known
architecture whose keys and shapes match the model's exactly.
"""

from pathlib import Path

from torch import nn

from backend.core.errors import SemvecError
from backend.runs.store import Run
from backend.training.config import ALIGN_STEPS

__all__ = ["SemvecError", "align", "open_run"]


def _data(data, root, preprocess: dict, home: Path):
    from torch.utils.data import Dataset

    from backend.training.config import DataConfig

    if isinstance(data, DataConfig):
        return data.model_copy(update={k: v for k, v in preprocess.items() if v is not None})
    if isinstance(data, Dataset):
        from backend.data.dataset_folder import write_image_folder
        from backend.services.datasets import datasets_dir

        written = write_image_folder(data, datasets_dir(home))
        if preprocess["channels"] is None and written.channels == 1:
            preprocess = {**preprocess, "channels": 1}  # grey images, read as the model saw them
        return DataConfig(name="imagefolder", root=str(written.path.resolve()), **preprocess)
    if isinstance(data, Path) or (isinstance(data, str) and ("/" in data or Path(data).is_dir())):
        return DataConfig(
            name="imagefolder", root=str(Path(data).expanduser().resolve()), **preprocess
        )
    if isinstance(data, str):
        return DataConfig(name=data, root=root, **preprocess)
    raise SemvecError(
        f"data must be a folder of images, a dataset name or a torch Dataset, not "
        f"{type(data).__name__}"
    )


def _known_arch(model: nn.Module) -> str:
    from backend.models.fit import closest_architectures

    best = closest_architectures(model.state_dict(), limit=1)
    if best and best[0][1] == 1.0:
        return best[0][0]
    raise SemvecError(
        "semvec cannot tell how to rebuild this model from its run folder: pass "
        "arch='path/to/file.py:function' (a function that returns it) or a known "
        "architecture (`semvec models`)"
    )


def align(
    model: nn.Module,
    data,
    *,
    arch: str | None = None,
    name: str | None = None,
    root: str | None = None,
    layers: list[str] | None = None,
    steps: int = ALIGN_STEPS,
    dim: int = 64,
    image_size: int | None = None,
    crop: int | None = None,
    mean: list[float] | None = None,
    std: list[float] | None = None,
    channels: int | None = None,
    device: str = "auto",
    analyze: bool = True,
    home: str | Path | None = None,
    progress: bool = True,
) -> Run:
    """Learn semantic vectors for `model` (frozen) on `data`; returns the new run.

    The run holds the model's weights, how to rebuild it (`arch`), the preprocessing, the
    vectors with their held-out quality and, with `analyze`, the top images and a first
    map, so `semvec serve` shows it at once. Raises SemvecError with a message to act on.
    """
    from backend.core.progress import Reporter, TqdmReporter
    from backend.core.settings import get_settings
    from backend.services.analysis import analyze_run
    from backend.services.projection import project_run
    from backend.services.vectors import align_run
    from backend.training.config import AlignConfig, PostHocConfig

    preprocess = {
        "image_size": image_size,
        "crop": crop,
        "mean": mean,
        "std": std,
        "channels": channels,
    }
    home = Path(home) if home else get_settings().home
    cfg = PostHocConfig(
        arch=arch or _known_arch(model),
        data=_data(data, root, preprocess, home),
        layers=layers,
        device=device,
        align=AlignConfig(steps=steps, dim=dim),
    )
    reporter = TqdmReporter() if progress else Reporter()

    def finish(run: Run) -> None:
        analyze_run(run, device=device, reporter=reporter)
        project_run(run, "pca", {}, reporter)

    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    try:
        return align_run(
            cfg,
            name=name,
            reporter=reporter,
            home=home,
            before_commit=finish if analyze else None,
            state=state,
        )
    finally:
        if isinstance(reporter, TqdmReporter):
            reporter.close()


def open_run(run_id: str, home: str | Path | None = None) -> Run:
    """An existing run (its vectors, metrics, `build_model()`)."""
    from backend.core.settings import get_settings
    from backend.runs.store import RunStore

    return RunStore(Path(home) if home else get_settings().home).open(run_id)
