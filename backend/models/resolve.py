"""One resolver for every architecture reference (STYLE.md 11): the reference's prefix
picks the source, and every source returns the same ModelRecord.

    resnet20                              semvec's zoo
    torchvision:resnet50@IMAGENET1K_V2    torchvision (weights from torch's hub cache)
    timm:convnext_tiny                    timm
    plugin:my_net                         a `semvec.models` entry point
    path/to/file.py:build                 a user's file (CLI and Python API only)
    package.module:build                  a user's module (CLI and Python API only)
"""

from types import ModuleType

from backend.core.errors import SemvecError, UnknownNameError
from backend.models.record import CodeCopy, ModelRecord
from backend.models.sources import plugins, timm_source, torchvision_source, user_code, zoo

SOURCES: dict[str, ModuleType] = {
    zoo.PREFIX: zoo,
    torchvision_source.PREFIX: torchvision_source,
    timm_source.PREFIX: timm_source,
    plugins.PREFIX: plugins,
}


def parse(ref: str) -> tuple[ModuleType, str]:
    """The source of `ref` and the name within it (user code keeps the whole reference)."""
    if not isinstance(ref, str) or not ref.strip():
        raise SemvecError("an architecture reference is needed (see `semvec models`)")
    prefix, sep, name = ref.partition(":")
    if not sep:
        return zoo, ref
    if prefix in SOURCES:
        return SOURCES[prefix], name
    return user_code, ref


def build(
    ref: str,
    kwargs: dict | None = None,
    hints: dict | None = None,
    *,
    code: CodeCopy | None = None,
    load_weights: bool = True,
    download: bool = False,
) -> ModelRecord:
    """Build the model `ref` names.

    Args:
        kwargs: constructor arguments the user gave (or a run recorded).
        hints: what the data says (`num_classes`, `in_channels`), used where the source
            and the user leave them open.
        code: a run's kept copy of a user's file, for user-code references.
        load_weights: fetch published weights (`@WEIGHTS`) into `record.weights_file`.
        download: let published weights be downloaded when the cache lacks them.
    """
    source, name = parse(ref)
    return source.build(
        name,
        dict(kwargs or {}),
        dict(hints or {}),
        code=code,
        load_weights=load_weights,
        download=download,
    )


def slug(ref: str) -> str:
    """A short name for runs made from `ref`: `resnet50` for `torchvision:resnet50@V2`,
    `my_net` for `models/my_net.py:build`."""
    source, name = parse(ref)
    if source is user_code:
        where = user_code.split_ref(ref)[0]
        name = where.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".py").rsplit(".", 1)[-1]
    text = "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in name.partition("@")[0])
    return text.strip("-._")[:40] or "model"


def is_user_code(ref: str) -> bool:
    return parse(ref)[0] is user_code


def offered_files() -> list[str]:
    """User-code references the server's owner offers (SEMVEC_MODEL_FILES)."""
    from backend.core.settings import get_settings

    return get_settings().model_file_refs()


def check_offered(ref: str) -> str:
    """`ref` when the server may build it for a client: a known source's name, or a model
    file that the server's owner lists. The server never imports code a client sends."""
    source, name = parse(ref)
    if source is user_code:
        if ref not in offered_files():
            raise SemvecError(
                f"architecture {ref!r} is code the server does not know: the server builds "
                "only semvec's zoo, torchvision:, timm: and plugin: models, and the model "
                "files its owner lists in SEMVEC_MODEL_FILES"
            )
        return ref
    base, _, weights = name.partition("@")
    if base not in source.names():
        kind = "architecture" if source is zoo else f"{source.TITLE} model"
        raise UnknownNameError(kind, base, source.names())
    if weights and source is not torchvision_source:
        raise SemvecError(f"{ref!r}: only torchvision: models have published weights (@NAME)")
    return ref


def catalogue() -> list[dict]:
    """What the server offers, for `semvec models` and the page: one entry per source."""
    out = [
        {"source": source.PREFIX or "zoo", "title": source.TITLE, "names": source.names()}
        for source in (zoo, torchvision_source, timm_source, plugins)
    ]
    title = "model files listed by the server's owner (SEMVEC_MODEL_FILES)"
    out.append({"source": "file", "title": title, "names": offered_files()})
    return out
