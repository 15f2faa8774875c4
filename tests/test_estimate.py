"""The `plan` estimate: work counted by hand, hours from a rate table, unmeasured sizes scaled by pixels."""

from dataclasses import replace

import pytest

import breastnet.study.estimate as est
from breastnet.data.splits import cv_splits
from breastnet.train.profiles import get_profile


@pytest.fixture
def one_machine(monkeypatch):
    monkeypatch.setattr(
        est,
        "RATES",
        (
            est.Rate("box", "tensorflow", 64, 10.0, 2, "measured here"),
            est.Rate("gpu", "torch", 224, None, 1, "not measured"),
        ),
    )


def test_work_is_images_x_streams_x_epochs(tiny_dataset, one_machine):
    profile = replace(get_profile("smoke"), subset=None, folds=2, epochs=3, size=64, max_folds=None)
    # No subset: no patient outside it, no held-out runs (tests/test_heldout.py).
    result = est.estimate(tiny_dataset, profile, variants=["DSSL", "DSTL", "Han2017", "Descriptors"], spectra=False)
    train = sum(len(s.train) for s in cv_splits(tiny_dataset.records, 2, 1, profile.seed, profile.val_fraction))
    # per epoch and fold: DSSL 1 stream, DSTL 2 streams, Han2017 4 margins (on Inception-v3, whose
    # minimum input is 75 px); the floor trains no network
    assert result.work_by_size == {64: train * (1 + 2) * 3, 75: train * 4 * 3}
    assert result.runs == 8 and result.runs_by_variant == {"DSSL": 2, "DSTL": 2, "Han2017": 2, "Descriptors": 2}


def test_hours_from_rate_and_processes(one_machine):
    hours, source = est.hours_on("box", "tensorflow", {64: 10.0 * 2 * 3600})  # two processes x 10/s for 1 h
    assert hours == pytest.approx(1.0) and source == "measured here"
    hours, source = est.hours_on("box", "tensorflow", {128: 10.0 * 2 * 3600})  # 4x the pixels: 4x the time
    assert hours == pytest.approx(4.0) and source == "measured here; 128 px scaled from 64 px"
    assert est.hours_on("gpu", "torch", {224: 1000}) == (None, "not measured")


def test_describe_says_unknown_where_nothing_was_measured(tiny_dataset, one_machine):
    profile = replace(get_profile("smoke"), subset=None, folds=2, size=64)
    text = est.describe(est.estimate(tiny_dataset, profile, variants=["DSTL"], spectra=False), profile)
    assert "gpu, torch: unknown  [not measured]" in text and "box, tensorflow:" in text
