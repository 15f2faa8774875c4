"""Patient-grouped splits: no patient is ever on two sides."""

import numpy as np
import pytest

from breastnet.data.records import Dataset, Record
from breastnet.data.splits import cv_splits, limited_subset, official_splits


def make_dataset(n_patients=60, seed=0):
    rng = np.random.default_rng(seed)
    records = []
    for p in range(n_patients):
        label = int(rng.uniform() < 0.4)
        for view in range(int(rng.integers(1, 4))):  # 1 to 3 images per patient
            rid = f"p{p}-{view}"
            records.append(Record(rid, f"{rid}.png", f"{rid}_m.png", label, "3", 0.01, f"P{p}", "test"))
    folds = {5: {r.id: 1 + int(r.patient[1:]) % 5 for r in records}}
    return Dataset("test", ".", "manifest", records, folds=folds)


def patients(ds, idx):
    return {ds.records[i].patient for i in idx}


@pytest.mark.parametrize("scheme", ["cv", "official"])
def test_no_patient_on_two_sides(scheme):
    ds = make_dataset()
    splits = cv_splits(ds.records, 5, 2, seed=1) if scheme == "cv" else official_splits(ds, 5)
    for s in splits:
        tr, va, te = patients(ds, s.train), patients(ds, s.val), patients(ds, s.test)
        assert not (tr & va) and not (tr & te) and not (va & te)
        assert len(s.train) + len(s.val) + len(s.test) == len(ds)
    for repeat in {s.repeat for s in splits}:  # each image is tested exactly once per repeat
        tested = np.concatenate([s.test for s in splits if s.repeat == repeat])
        assert sorted(tested) == list(range(len(ds)))


def test_repeats_shuffle_differently_and_stratify():
    ds = make_dataset()
    splits = cv_splits(ds.records, 5, 2, seed=0)
    first = [set(s.test) for s in splits if s.repeat == 0]
    second = [set(s.test) for s in splits if s.repeat == 1]
    assert first != second
    y = np.array([r.pathology for r in ds.records])
    for s in splits:
        assert abs(y[s.test].mean() - y.mean()) < 0.2


def test_limited_subset_counts_and_grouping():
    ds = make_dataset(200)
    sub = limited_subset(ds, 30, 20, seed=0)
    s = sub.summary()
    assert (s["benign"], s["malignant"]) == (30, 20)
    chosen = {r.patient for r in sub.records}
    assert all(r.patient not in chosen or r.id in {x.id for x in sub.records} for r in ds.records)
    assert limited_subset(ds, 30, 20, seed=0).records == sub.records
    assert limited_subset(ds, 30, 20, seed=1).records != sub.records


def test_limited_subset_refuses_too_few():
    with pytest.raises(ValueError, match="fewer than"):
        limited_subset(make_dataset(10), 500, 500)
