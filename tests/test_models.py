"""Each variant has the inputs and outputs the paper gives it; weights load offline."""

import keras
import numpy as np
import pytest

from breastnet.model import backbones
from breastnet.model.backbones import WeightsError, build_backbone, input_size
from breastnet.model.network import BreastNet, build_model
from breastnet.model.variants import get_variant


@pytest.mark.parametrize(
    "name, inputs, outputs, features",
    [
        ("DSSL", {"oa"}, {"malignancy": 2}, 1024),
        ("E-DSTL", {"oa", "hs"}, {"malignancy": 2}, 2048),
        ("E-DMTL", {"oa", "hs"}, {"malignancy": 2, "birads": 1}, 2048),
    ],
)
def test_paper_variants_inputs_outputs(name, inputs, outputs, features):
    model = build_model(get_variant(name), 32, weights=None)
    assert set(model.input) == inputs
    assert {k: v.shape[-1] for k, v in model.output.items()} == outputs
    assert model.get_layer("features").output.shape[-1] == features  # concatenated GAP of DenseNet-121
    x = {s: np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype("float32") for s in inputs}
    out = model.inference.predict(x, verbose=0)
    np.testing.assert_allclose(out["malignancy"].sum(axis=1), 1.0, rtol=1e-5)  # softmax
    assert out["features"].shape == (2, features)
    assert float(keras.ops.convert_to_numpy(model.alpha)) == get_variant(name).alpha
    assert model.weights_used == "random init"


def test_two_streams_have_distinct_variables():
    """Same layer names in both DenseNets, but scoped paths: every variable is registered."""
    one = build_model(get_variant("DSSL"), 32)
    two = build_model(get_variant("DSTL"), 32)
    paths = [v.path for v in two.weights]
    assert len(paths) == len(set(paths))
    assert any(p.startswith("oa/") for p in paths) and any(p.startswith("hs/") for p in paths)
    backbone_vars = len(one.weights) - 3  # minus head kernel, head bias, alpha
    assert len(two.weights) == 2 * backbone_vars + 3
    assert len(two.trainable_variables) == 2 * (len(one.trainable_variables) - 2) + 2


@pytest.mark.tf_only
@pytest.mark.parametrize("name, size", [("ResNet-50", 32), ("Inception", 75), ("Han2017", 75)])
def test_baselines_build_at_their_minimum_size(name, size):
    variant = get_variant(name)
    assert input_size(variant, 32) == size
    model = build_model(variant, 32)
    assert set(model.input) == {"oa"} and model.input["oa"].shape[1] == size
    assert model.output["malignancy"].shape[-1] == 2


def test_local_weights_file_loads_offline(tmp_path):
    variant = get_variant("DSTL")
    source, _ = build_backbone(variant, 32, None, name="oa")
    path = tmp_path / "densenet121_notop.weights.h5"
    source.save_weights(path)
    model = build_model(variant, 48, weights=str(path))  # another input size works too
    assert model.weights_used == f"file:{path.name}"
    for stream in ("oa", "hs"):
        loaded = model.get_layer(f"{stream}_densenet121")
        for a, b in zip(source.weights, loaded.weights):
            np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))


def test_weights_file_that_does_not_fit_names_the_file(tmp_path, tiny_backbone_registered):
    tiny, _ = build_backbone(tiny_backbone_registered("DSSL"), 32, None)
    path = tmp_path / "tiny.weights.h5"
    tiny.save_weights(path)
    with pytest.raises(WeightsError, match=f"{path.name} does not fit"):
        build_model(get_variant("DSSL"), 32, weights=str(path))
    with pytest.raises(WeightsError, match="does not exist"):
        build_model(get_variant("DSSL"), 32, weights=str(tmp_path / "missing.weights.h5"))


def test_auto_weights_fall_back_loudly_and_are_recorded(offline_backbone_registered, monkeypatch):
    # "auto" warns once per process and backbone: start from a process that has not tried yet,
    # whatever ran before this test.
    monkeypatch.setattr(backbones, "_IMAGENET_UNAVAILABLE", {})
    variant = offline_backbone_registered("DSTL")
    with pytest.warns(UserWarning, match="RANDOM INIT"):
        model = build_model(variant, 32, weights="auto")
    assert model.weights_used == "random init (imagenet unavailable)"
    with pytest.raises(OSError):  # asking for ImageNet explicitly never falls back silently
        build_model(variant, 32, weights="imagenet")


def test_nothing_is_downloaded_unless_imagenet_is_asked_for(monkeypatch, tmp_path):
    import keras.src.utils.file_utils as file_utils

    def refuse(*args, **kwargs):
        raise AssertionError(f"download attempted: {args[:2]}")

    monkeypatch.setattr(file_utils, "get_file", refuse)
    monkeypatch.setattr(keras.utils, "get_file", refuse)
    build_model(get_variant("DSTL"), 32, weights=None)  # random init: no network
    with pytest.raises(AssertionError, match="download attempted"):
        build_model(get_variant("DSSL"), 32, weights="imagenet")


def test_config_round_trip_and_safe_mode_reload(tmp_path, tiny_backbone_registered):
    """A saved model reloads without the training code (safe_mode) and predicts the same."""
    model = build_model(tiny_backbone_registered("E-DMTL", alpha=0.5), 32)
    assert model.get_config() == {
        "streams": ["oa", "hs"],
        "tasks": ["classification", "birads"],
        "backbone": "tiny",
        "size": 32,
        "alpha": 0.5,
        "name": "E_DMTL",
        "trainable": True,
    }
    clone = BreastNet.from_config(model.get_config())
    assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]
    x = {s: np.random.default_rng(1).normal(size=(3, 32, 32, 3)).astype("float32") for s in ("oa", "hs")}
    before = model.inference.predict(x, verbose=0)
    path = tmp_path / "e_dmtl.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, BreastNet) and loaded.multitask
    assert float(keras.ops.convert_to_numpy(loaded.alpha)) == 0.5
    after = loaded.inference.predict(x, verbose=0)
    for key in ("malignancy", "birads", "features"):
        np.testing.assert_allclose(after[key], before[key], rtol=1e-6, atol=1e-6)


def test_a_backbone_without_imagenet_weights_refuses_imagenet(tiny_backbone_registered):
    variant = tiny_backbone_registered("DSSL")
    assert build_model(variant, 32, weights="auto").weights_used == "random init"  # nothing to fetch: no warning
    with pytest.raises(WeightsError, match="no ImageNet weights for the tiny backbone"):
        build_model(variant, 32, weights="imagenet")
