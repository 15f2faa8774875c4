"""Shared fixtures: a tiny synthetic dataset, an isolated cache, a tiny backbone."""

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

SHARED_BUSBRA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "BUS-BRA"


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Each test session writes phantoms and patches under its own temporary cache."""
    cache = tmp_path_factory.getbasetemp() / "cache"
    monkeypatch.setenv("BREASTNET_CACHE", str(cache))
    monkeypatch.delenv("BREASTNET_DATA", raising=False)
    return cache


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """20 synthetic images (10 benign, 10 malignant) as a manifest dataset."""
    from breastnet.data.synthetic import synthetic_dataset

    return synthetic_dataset(n_benign=10, n_malignant=10, seed=3,
                             cache_dir=tmp_path_factory.mktemp("tiny"))


def tiny_backbone(include_top=False, weights=None, input_shape=None, pooling="avg", name="tiny"):
    """A two-conv stand-in for keras.applications (same call, fixed inner layer names).

    Its inner names repeat across instances, like DenseNet121's do, so two streams
    of it reproduce the variable-name clash the streams' name scopes must prevent.
    """
    import keras

    inputs = keras.Input(input_shape)
    x = keras.layers.Conv2D(4, 3, strides=2, activation="relu", name="conv1")(inputs)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu", name="conv2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    model = keras.Model(inputs, x, name=name)
    if weights not in (None, "imagenet"):
        model.load_weights(weights)
    if weights == "imagenet":
        raise OSError("no network here")
    return model


@pytest.fixture
def tiny_backbone_registered(monkeypatch):
    """Register 'tiny' in BACKBONES and return a variant factory using it."""
    import keras

    from breastnet.model import backbones as models
    from breastnet.model.variants import get_variant

    monkeypatch.setitem(models.BACKBONES, "tiny", models.Backbone(
        tiny_backbone, keras.applications.densenet.preprocess_input, 32))

    def make(name, alpha=None):
        from dataclasses import replace

        return replace(get_variant(name, alpha), backbone="tiny")

    return make


def rng():
    return np.random.default_rng(0)
