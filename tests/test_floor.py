"""The classical floor writes the same result files as the networks, on the same splits."""

import numpy as np

from breastnet.data.splits import cv_splits
from breastnet.model.variants import get_variant
from breastnet.study.results import load_results
from breastnet.study.sweep import run_sweep
from breastnet.train.floor import run_floor
from breastnet.train.metrics import METRIC_KEYS
from breastnet.train.profiles import get_profile


def test_floor_result_has_the_networks_schema(tiny_dataset, tmp_path):
    split = cv_splits(tiny_dataset.records, n_folds=2, repeats=1, seed=0, val_fraction=0.25)[0]
    result, features = run_floor(
        tiny_dataset, split, get_variant("Descriptors"), 0, get_profile("smoke"), cache_dir=tmp_path
    )
    assert set(result["metrics"]) >= {"accuracy", "sensitivity", "specificity", "auc", "balanced_accuracy"}
    assert result["run"]["variant"] == result["run"]["family"] == "Descriptors"
    assert result["predictions"]["id"] == [tiny_dataset.records[i].id for i in split.test]
    assert features.shape == (len(split.test), len(result["config"]["descriptors"]))
    p = np.array(result["predictions"]["p_malignant"])
    assert ((0 <= p) & (p <= 1)).all()
    # Its accuracy is the share of test images on the right side of 0.5, worked out again here.
    y = np.array(result["predictions"]["y_true"])
    assert result["metrics"]["accuracy"] == np.mean((p >= 0.5) == (y == 1))


def test_sweep_runs_the_floor_without_a_network(tiny_dataset, tmp_path):
    profile = get_profile("smoke").replace(subset=None, variants=("Descriptors",))
    folder, results = run_sweep(tiny_dataset, profile, tmp_path, spectra=False, cache_dir=tmp_path, log=lambda *a: None)
    assert len(results) == 2 and {r["run"]["fold"] for r in results} == {0, 1}
    assert all(set(r["metrics"]) <= set(METRIC_KEYS) for r in results)
    assert len(load_results(folder)) == 2
