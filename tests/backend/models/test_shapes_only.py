"""Layer tables from a shapes-only build: the same shapes as a real build, and the server's
listing refuses, in words, what only a real build traces."""

import pytest
import torch

from backend.models.shapes_only import shapes_only, to_meta
from backend.models.trace import trace
from backend.services.layers import NotTraceableError, layer_table
from backend.services.models import build_record


def test_a_regnet_traces_to_the_same_shapes_as_a_real_build():
    """RegNets size their stages with `torch.arange(...).tolist()`, which the meta device
    alone cannot answer: they used to be built for real to be listed."""
    ref = "torchvision:regnet_x_400mf"
    with shapes_only():
        record = build_record(ref, load_weights=False)
    model = to_meta(record.model)
    assert all(p.is_meta for p in model.parameters())
    shapes = trace(model, torch.zeros(2, 3, 224, 224, device="meta"))
    real = trace(build_record(ref, load_weights=False).model, torch.zeros(2, 3, 224, 224))
    assert shapes == real and len(shapes) > 300


def test_what_only_a_real_build_traces_is_refused_by_the_server_listed_by_the_cli():
    ref = "timm:coatnet_rmlp_nano_rw_224"  # its relative-position tables read meta tensors
    with pytest.raises(NotTraceableError, match="semvec layers timm:coatnet_rmlp_nano_rw_224"):
        layer_table(ref, None, None, for_real=False)
    assert layer_table(ref, None, None).neurons > 0  # the CLI builds it, in the user's process
