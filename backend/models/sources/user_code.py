"""A user's own architecture: `path/to/file.py:build` or `package.module:build`.

For the CLI and the Python API only: the server never imports code that a client sends
(see `backend.models.resolve.check_offered`). The function gets `num_classes` and
`in_channels` when it takes them, and returns an `nn.Module`. Its file is copied into the
run with its SHA-256, so the run rebuilds after the original is moved or deleted.
"""

import hashlib
import importlib
import inspect
import sys
import types
from pathlib import Path

from backend.core.errors import SemvecError
from backend.models.record import CodeCopy
from backend.models.sources.common import _last_line, call_builder, record_for

TITLE = "your own code (file.py:function or package.module:function)"


def split_ref(ref: str) -> tuple[str, str]:
    where, sep, attribute = ref.rpartition(":")
    if not sep or not where or not attribute.isidentifier():
        raise SemvecError(
            f"architecture {ref!r}: a model of your own is named path/to/file.py:function "
            "or package.module:function"
        )
    return where, attribute


def _exec(text: str, filename: str, sha256: str) -> types.ModuleType:
    name = f"semvec_user_model_{sha256[:12]}"
    if name in sys.modules:
        return sys.modules[name]
    module = types.ModuleType(name)
    module.__file__ = filename
    sys.modules[name] = module  # dataclasses and typing look the module up while it runs
    try:
        exec(compile(text, filename, "exec"), module.__dict__)
    except Exception as err:
        del sys.modules[name]
        raise SemvecError(f"model file {filename} failed to import: {_last_line(err)}") from err
    return module


def _load(where: str) -> tuple[types.ModuleType, CodeCopy]:
    if where.endswith(".py"):
        path = Path(where).expanduser()
        if not path.is_file():
            raise SemvecError(f"model file {path} does not exist")
        text = path.read_text()
    else:
        try:
            module = importlib.import_module(where)
        except Exception as err:
            raise SemvecError(f"module {where} failed to import: {_last_line(err)}") from err
        source = inspect.getsourcefile(module)
        if source is None:
            raise SemvecError(f"module {where} has no source file to keep with the run")
        path, text = Path(source), Path(source).read_text()
    sha = hashlib.sha256(text.encode()).hexdigest()
    copy = CodeCopy(filename=path.name, sha256=sha, attribute="", text=text)
    return _exec(text, str(path), sha), copy


def from_copy(copy: CodeCopy) -> types.ModuleType:
    """The module of a run's kept copy, after checking it is the file the run was made with."""
    if hashlib.sha256(copy.text.encode()).hexdigest() != copy.sha256:
        raise SemvecError(
            f"the run's copy of {copy.filename} does not match the SHA-256 it was made with"
        )
    return _exec(copy.text, copy.filename, copy.sha256)


def build(ref: str, kwargs: dict, hints: dict, *, code: CodeCopy | None = None, **_):
    where, attribute = split_ref(ref)
    if code is not None:
        module = from_copy(code)
    else:
        module, code = _load(where)
    builder = getattr(module, attribute, None)
    if not callable(builder):
        raise SemvecError(f"{code.filename} has no function {attribute!r}")
    used, model = call_builder(builder, ref, {**hints, **kwargs})
    kept = CodeCopy(code.filename, code.sha256, attribute, code.text)
    return record_for(ref, model, used, code=kept)
