"""Shared fixtures: a tiny synthetic dataset, an isolated cache, a tiny backbone."""

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from dataclasses import replace

import pytest

from breastnet.model.variants import get_variant

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

    return synthetic_dataset(n_benign=10, n_malignant=10, seed=3, cache_dir=tmp_path_factory.mktemp("tiny"))


def offline_imagenet_backbone(include_top=False, weights=None, input_shape=None, pooling="avg", name="tiny"):
    """The tiny stand-in, posing as a backbone whose ImageNet weights cannot be fetched here."""
    from breastnet.model.backbones import tiny_convnet

    if weights == "imagenet":
        raise OSError("no network here")
    return tiny_convnet(include_top, weights, input_shape, pooling, name)


@pytest.fixture
def offline_backbone_registered(monkeypatch):
    """Register 'offline' (claims ImageNet weights, cannot fetch them) and return a variant factory."""
    import keras

    from breastnet.model import backbones

    monkeypatch.setitem(
        backbones.BACKBONES,
        "offline",
        backbones.Backbone(offline_imagenet_backbone, keras.applications.densenet.preprocess_input, 32, imagenet=True),
    )
    return lambda name, alpha=None: replace(get_variant(name, alpha), backbone="offline")


@pytest.fixture
def tiny_backbone_registered():
    """A variant factory on the package's 'tiny' stand-in backbone (`breastnet.model.backbones`)."""
    return lambda name, alpha=None: replace(get_variant(name, alpha), backbone="tiny")
