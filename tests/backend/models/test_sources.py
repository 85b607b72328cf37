"""Architectures from every source, their default layers and how bad names are answered."""

import pytest
import torch

from backend.core.errors import SemvecError, UnknownNameError
from backend.models import build, catalogue, check_offered, slug
from backend.models.layers import expand_layers
from backend.semantic.neurons import ActivationProbe, neuron_index


def test_torchvision_models_keep_their_standard_stem_and_probe_their_blocks():
    record = build("torchvision:resnet50", hints={"num_classes": 7, "in_channels": 3})
    assert record.model.conv1.kernel_size == (7, 7) and record.model.conv1.stride == (2, 2)
    assert record.model.fc.out_features == 7 and record.logit_layer == "fc"
    assert record.probed_layers[:3] == ["layer1.0", "layer1.1", "layer1.2"]
    assert record.probed_layers[-2:] == ["layer4.2", "fc"] and len(record.probed_layers) == 17


def test_a_transformer_probes_its_encoder_blocks_and_pools_over_tokens():
    record = build(
        "timm:vit_tiny_patch16_224", {"img_size": 32, "patch_size": 8}, {"num_classes": 3}
    )
    assert record.probed_layers == [*(f"blocks.{i}" for i in range(12)), "head"]
    index = neuron_index(record.model, record.probed_layers, torch.randn(1, 3, 32, 32))
    assert [layer.width for layer in index.layers] == [192] * 12 + [3]
    assert not any(layer.spatial for layer in index.layers)


def test_swin_feature_maps_are_read_channels_last():
    record = build("torchvision:swin_t", hints={"num_classes": 4})
    stage = "features.1.1"
    with ActivationProbe(record.model.eval(), [stage, "head"], keep_maps=True) as probe:
        record.model(torch.randn(2, 3, 64, 64))
    assert probe.maps()[stage].shape == (2, 96, 16, 16)  # (B, C, H, W), C = Swin-T's 96
    assert probe.pooled().shape == (2, 96 + 4)


def test_globs_pick_one_level_of_modules():
    model = build("resnet20", hints={"num_classes": 10}).model
    assert expand_layers(model, ["layer3.*", "fc"]) == ["layer3.0", "layer3.1", "layer3.2", "fc"]
    with pytest.raises(SemvecError, match="no module matches"):
        expand_layers(model, ["layer9.*"])


def test_unknown_names_offer_close_matches():
    with pytest.raises(UnknownNameError) as err:
        build("torchvision:resnet5")
    assert "close matches: resnet50" in str(err.value)
    with pytest.raises(UnknownNameError, match="convnext_tiny"):
        build("timm:convnext_tinny")


def test_published_weights_absent_offline_say_which_file_goes_where(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(SemvecError) as err:
        build("torchvision:resnet18@IMAGENET1K_V1")
    message = str(err.value)
    assert "resnet18-f37072fd.pth" in message
    assert str(tmp_path / "torch" / "hub" / "checkpoints") in message and "--download" in message


def test_the_server_offers_known_sources_and_listed_files_only(tmp_path, monkeypatch):
    user_file = tmp_path / "net.py"
    user_file.write_text("raise SystemExit('never imported')\n")
    ref = f"{user_file}:build"
    with pytest.raises(SemvecError, match="code the server does not know"):
        check_offered(ref)
    monkeypatch.setenv("SEMVEC_MODEL_FILES", ref)
    assert check_offered(ref) == ref  # listed by the owner: offered, still not imported here
    assert check_offered("torchvision:resnet50@IMAGENET1K_V2")
    with pytest.raises(SemvecError, match="only torchvision"):
        check_offered("timm:resnet50@IMAGENET1K_V2")
    sources = {entry["source"]: entry["names"] for entry in catalogue()}
    assert "resnet56_a" in sources["zoo"] and "vit_b_16" in sources["torchvision"]
    assert "convnext_tiny" in sources["timm"] and sources["file"] == [ref]


def test_a_model_file_that_fails_to_import_says_its_own_error(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("import torch\n\ndef build():\n    return torch.nn.Linear(2, 2)\n\n1 / 0\n")
    with pytest.raises(SemvecError) as err:
        build(f"{path}:build")
    assert "failed to import: ZeroDivisionError: division by zero" in str(err.value)
    with pytest.raises(SemvecError, match="has no function 'make'"):
        (tmp_path / "ok.py").write_text("def build():\n    pass\n")
        build(f"{tmp_path / 'ok.py'}:make")


def test_run_names_from_references():
    assert slug("torchvision:resnet50@IMAGENET1K_V2") == "resnet50"
    assert slug("models/petal_net.py:make") == "petal_net"
    assert slug("my_pkg.nets:build") == "nets"
    assert slug("resnet20") == "resnet20"
