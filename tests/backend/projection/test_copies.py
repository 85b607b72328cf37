"""Residual copies: found by the general rule (same parent, same width, confirmed by the
vectors), grouped in the neighbour list, and left out on request."""

import numpy as np
import torch
from torch import nn

from backend.projection.copies import copy_groups, layer_stages
from backend.projection.neighbors import unit_vectors
from backend.semantic.neurons import ActivationProbe
from backend.services.explorer import LoadedRun, neighbors
from tests.photos import photo_folder

WIDTH = 16


class _Block(nn.Module):
    """x + conv(relu(x)): the block adds to the stream it is given."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(WIDTH, WIDTH, 3, padding=1)

    def forward(self, x):
        return x + 0.3 * self.conv(torch.relu(x))


class _Net(nn.Module):
    """A residual stage and a plain stage of the same width, siblings within each."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, WIDTH, 3, padding=1)
        self.stream = nn.Sequential(_Block(), _Block(), _Block())
        self.plain = nn.Sequential(
            *[nn.Sequential(nn.Conv2d(WIDTH, WIDTH, 3, padding=1), nn.ReLU()) for _ in range(3)]
        )

    def forward(self, x):
        return self.plain(self.stream(self.stem(x)))


LAYERS = ["stem", "stream.0", "stream.1", "stream.2", "plain.0", "plain.1", "plain.2"]


def _vectors(tmp_path) -> tuple[LoadedRun, np.ndarray]:
    """The run-like state of the explorer for this net: vectors from the top eigenvectors
    of its activation correlation over crops of real photos."""
    from backend.data import DataSpec, load_split

    photo_folder(tmp_path, per_class=40, flat=True)
    split = load_split(DataSpec("imagefolder", root=str(tmp_path), image_size=32), "all")
    torch.manual_seed(0)
    model = _Net().eval()
    with torch.no_grad(), ActivationProbe(model, LAYERS) as probe:
        pooled = [(model(x), probe.pooled())[1] for x, *_ in split.batches(40)]
        index = probe.index()
    h = torch.cat(pooled).double()
    corr = torch.corrcoef(h.t()).nan_to_num()
    values, vectors = torch.linalg.eigh(corr)
    embedding = (vectors[:, -24:] * values[-24:].clamp(min=0).sqrt()).float().numpy()
    return index, unit_vectors(embedding)


def test_stages_are_found_by_the_rule_and_confirmed_by_the_vectors(tmp_path):
    index, unit = _vectors(tmp_path)
    stages = layer_stages(index, unit)
    # stem has the model as parent; plain.* are siblings of one width that share no stream.
    assert stages == [None, "stream", "stream", "stream", None, None, None]
    groups = copy_groups(index, stages)
    assert groups[index.id_of("stream.1:5")] == "stream:5" == groups[index.id_of("stream.2:5")]
    assert groups[index.id_of("plain.1:5")] is None


def test_the_neighbour_list_groups_copies_and_can_leave_them_out(tmp_path):
    index, unit = _vectors(tmp_path)
    n = len(index)
    data = LoadedRun(
        run=None,
        index=index,
        vectors=unit,
        analysis=None,
        quality_r=None,
        quality_p=None,
        metrics={},
        unit=unit,
    )
    data.briefs = [{"id": i, "name": index.name(i)} for i in range(n)]
    data.copy_group = copy_groups(index, layer_stages(index, unit))
    query = index.id_of("stream.1:3")
    plain = neighbors(data, query, 10)
    copies = [r["name"] for r in plain if r["copy_of_query"]]
    assert {"stream.0:3", "stream.2:3"} & set(copies)  # the copies crowd in
    hidden = neighbors(data, query, 10, hide_copies=True)
    assert len(hidden) == 10 and not any(r["copy_of_query"] for r in hidden)
    groups = [r["copy_group"] for r in hidden if r["copy_group"] is not None]
    assert len(groups) == len(set(groups))  # one neuron per other copy group
    sims = [r["similarity"] for r in hidden]
    assert sims == sorted(sims, reverse=True)
