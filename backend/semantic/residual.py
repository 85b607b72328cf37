"""Residual copies, read off the model's structure (docs/method.md, "Residual copies").

A probed layer B *continues* a probed layer A when B's input is A's output and B adds
that input, unchanged, to what it computes (an identity skip: `act(f(x) + x)` or
`x + f(x)`). Layers linked this way, transitively, are one *residual stage*: they all
write to the same stream, so channel c of each is nearly the same signal. The same
channel of the other layers of its stage is a neuron's *residual copy*.

Two facts decide a link, both measured on the model itself, never on the vectors:
- the skip: the layer's own forward, traced with torch.fx, returns its first input after
  one or more additions (an activation, dropout or identity module may follow each);
- the wiring: on one forward pass, B receives the very tensor A returned.
A layer whose forward cannot be traced has no skip (its copies are not counted).
"""

import operator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import fx, nn

from backend.semantic.neurons import NeuronIndex, resolve_modules

_ADD = {operator.add, operator.iadd, torch.add}
_PASS_MODULES = (
    nn.Identity,
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.GELU,
    nn.SiLU,
    nn.ELU,
    nn.Hardswish,
    nn.Mish,
    nn.Dropout,
)
"""Elementwise modules that keep a channel a channel after the addition."""
_PASS_FUNCTIONS = {F.relu, torch.relu, torch.relu_, F.relu6, F.gelu, F.silu, F.elu, F.dropout}
_PASS_METHODS = {"relu", "relu_", "contiguous", "clone"}


@dataclass
class ResidualStages:
    """The probed layers' residual stages and, per neuron, its copy group."""

    stages: list[list[str]]
    """Each stage's layer paths, in probing order (only stages of two layers or more)."""
    groups: torch.Tensor
    """(N,) int64: neurons with the same value >= 0 are residual copies; -1 for none."""

    @property
    def neurons_with_copies(self) -> int:
        return int((self.groups >= 0).sum())

    def summary(self) -> dict:
        return {"stages": self.stages, "neurons": self.neurons_with_copies}


def has_identity_skip(module: nn.Module) -> bool:
    """True when `module`'s forward returns its first input plus something (see above)."""
    try:
        graph = fx.symbolic_trace(module).graph
    except Exception:  # untraceable forwards (data-dependent control flow...) count as none
        return False
    modules = dict(module.named_modules())
    added: dict[fx.Node, bool] = {}  # nodes carrying the input; True once added to
    for node in graph.nodes:
        if node.op == "placeholder":
            if not added:
                added[node] = False
            continue
        if node.op == "output":
            out = node.args[0]
            return isinstance(out, fx.Node) and added.get(out, False)
        args = [a for a in node.args if isinstance(a, fx.Node)]
        if node.op == "call_function" and node.target in _ADD:
            if len(args) == 2 and any(a in added for a in args):
                added[node] = True
        elif args and args[0] in added and _passes(node, modules):
            added[node] = added[args[0]]
    return False


def _passes(node: fx.Node, modules: dict[str, nn.Module]) -> bool:
    if node.op == "call_module":
        return isinstance(modules.get(str(node.target)), _PASS_MODULES)
    if node.op == "call_function":
        return node.target in _PASS_FUNCTIONS
    return node.op == "call_method" and node.target in _PASS_METHODS


@torch.no_grad()
def residual_stages(
    model: nn.Module, layers: list[str], index: NeuronIndex, sample: torch.Tensor
) -> ResidualStages:
    """The residual stages among `layers`, from the structure and one forward pass on
    `sample` (a batch of inputs on the model's device)."""
    modules = resolve_modules(model, layers)
    inputs: dict[str, object] = {}
    outputs: dict[str, object] = {}
    handles = []
    for path, module in zip(layers, modules, strict=True):
        handles.append(module.register_forward_pre_hook(_keep(inputs, path, first=True)))
        handles.append(module.register_forward_hook(_keep(outputs, path, first=False)))
    try:
        model.eval()
        model(sample)
    finally:
        for handle in handles:
            handle.remove()
    parent = {path: path for path in layers}

    def root(path: str) -> str:
        while parent[path] != path:
            path = parent[path]
        return path

    for i, (path, module) in enumerate(zip(layers, modules, strict=True)):
        received = inputs.get(path)
        if received is None or not has_identity_skip(module):
            continue
        for before in layers[:i]:
            if outputs.get(before) is received:
                parent[root(path)] = root(before)
                break
    members: dict[str, list[str]] = {}
    for path in layers:
        members.setdefault(root(path), []).append(path)
    stages = [paths for paths in members.values() if len(paths) > 1]
    groups = torch.full((len(index),), -1, dtype=torch.int64)
    width = max(layer.width for layer in index.layers)
    for number, paths in enumerate(stages):
        for path in paths:
            layer = index.layer(path)
            groups[layer.offset : layer.offset + layer.width] = number * width + torch.arange(
                layer.width
            )
    return ResidualStages(stages, groups)


def _keep(store: dict, path: str, first: bool):
    def hook(_module, args, output=None):
        value = (args[0] if args else None) if first else output
        store.setdefault(path, value)  # the first call's tensors, for a module used twice

    return hook


def copy_mask(groups: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """(R, N) True where column j is a residual copy of neuron rows[r] (itself included)."""
    g = groups[rows, None]
    return (g == groups[None, :]) & (g >= 0)
