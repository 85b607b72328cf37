"""semvec's own architectures (model_zoo), by plain name: `resnet20`, `digits_cnn`."""

import model_zoo
from backend.core.errors import SemvecError, UnknownNameError
from backend.models.record import ModelRecord

PREFIX = ""
TITLE = "semvec's zoo"


def names() -> list[str]:
    return model_zoo.list_models()


def describe(name: str) -> str:
    return model_zoo.model_entry(name).description


def build(name: str, kwargs: dict, hints: dict, **_) -> ModelRecord:
    if name not in model_zoo.list_models():
        raise UnknownNameError("architecture", name, model_zoo.list_models())
    kwargs = {**hints, **kwargs}
    try:
        model = model_zoo.get_model(name, **kwargs)
    except ValueError as err:
        raise SemvecError(str(err)) from err
    return ModelRecord(name, model, kwargs, list(model.probed_layers), model.logit_layer)
