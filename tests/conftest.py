"""Shared fixtures: a tiny synthetic dataset, an isolated cache, a tiny backbone."""

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from dataclasses import replace

import cv2
import numpy as np
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


def write_separable(folder, n: int = 40, seed: int = 0, gain: float = 1.0):
    """A manifest dataset the tiny backbone separates in a few epochs.

    Benign: a bright round lesion; malignant: a dark lesion taller than wide. `gain` scales
    every intensity (another "scanner": the external set of the final-model tests).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = ["image,mask,pathology,birads,patient"]
    for n_img in range(n):
        malignant = n_img % 2
        image = rng.normal(110, 12, (96, 96))
        mask = np.zeros((96, 96), np.uint8)
        cx, cy = rng.integers(40, 56, 2)
        axes = (10, 24) if malignant else (18, 18)
        cv2.ellipse(mask, (int(cx), int(cy)), axes, 0, 0, 360, 255, -1)
        inside = mask > 0
        image[inside] = rng.normal(35, 8, inside.sum()) if malignant else rng.normal(200, 8, inside.sum())
        cv2.imwrite(str(folder / f"img{n_img:02d}.png"), (image * gain).clip(0, 255).astype(np.uint8))
        cv2.imwrite(str(folder / f"mask{n_img:02d}.png"), mask)
        rows.append(
            f"img{n_img:02d}.png,mask{n_img:02d}.png,{'malignant' if malignant else 'benign'},"
            f"{'5' if malignant else '2'},p{n_img:02d}"
        )
    (folder / "manifest.csv").write_text("\n".join(rows) + "\n")
    return folder
