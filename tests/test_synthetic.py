"""The synthetic default: seeded, labelled as synthetic, learnable but not trivial."""

import cv2
import numpy as np

from breastnet.data.load import load_dataset
from breastnet.data.synthetic import phantom, synthetic_dataset


def test_default_dataset_is_paper_sized_and_says_synthetic(tmp_path, monkeypatch):
    monkeypatch.setenv("BREASTNET_CACHE", str(tmp_path))
    ds = load_dataset(None)
    s = ds.summary()
    assert ds.synthetic and ds.name == "synthetic"
    assert (s["benign"], s["malignant"]) == (150, 162)
    assert s["patients"] < s["images"]  # some patients have two views


def test_same_seed_same_pixels(tmp_path):
    a = synthetic_dataset(4, 4, seed=7, cache_dir=tmp_path / "a")
    b = synthetic_dataset(4, 4, seed=7, cache_dir=tmp_path / "b")
    for ra, rb in zip(a.records, b.records):
        assert np.array_equal(cv2.imread(str(ra.image)), cv2.imread(str(rb.image)))
        assert (ra.pathology, ra.birads, ra.patient) == (rb.pathology, rb.birads, rb.patient)


def solidity(mask):
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    c = max(contours, key=cv2.contourArea)
    return cv2.contourArea(c) / cv2.contourArea(cv2.convexHull(c))


def test_shape_follows_suspicion():
    """Benign-looking lesions are convex and wider than tall; suspicious ones are not."""
    rng = np.random.default_rng(0)
    low = [phantom(rng, 0.1)[1] for _ in range(10)]
    high = [phantom(rng, 0.9)[1] for _ in range(10)]
    assert np.mean([solidity(m) for m in low]) > np.mean([solidity(m) for m in high]) + 0.05

    def aspect(m):
        x, y, w, h = cv2.boundingRect(m)
        return w / h

    assert np.mean([aspect(m) for m in low]) > np.mean([aspect(m) for m in high])
    for m in low + high:
        assert cv2.connectedComponents(m)[0] == 2  # one lesion


def test_birads_correlates_with_pathology_but_is_not_it(tiny_dataset):
    ds = synthetic_dataset(150, 162, seed=0)
    y = np.array([r.pathology for r in ds.records])
    z = np.array([r.birads_score for r in ds.records])
    r = np.corrcoef(y, z)[0, 1]
    assert 0.3 < r < 0.95
