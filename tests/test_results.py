"""Result files: atomic, checked, never a half-written or pickled file trusted."""

import json
import math
import os

import numpy as np
import pytest

from breastnet.study import results
from breastnet.study.results import CorruptResultError, read_features, read_result, valid_result, write_result


def minimal_result():
    return {
        "run": {"variant": "DSSL", "family": "DSSL", "alpha": 0.0, "fold": 0, "repeat": 0},
        "config": {},
        "provenance": {},
        "metrics": {"accuracy": 0.5, "auc": math.nan},
        "predictions": {"id": ["a"]},
    }


def test_round_trip_with_features_and_strict_json(tmp_path):
    path = write_result(tmp_path / "r.json", minimal_result(), np.ones((1, 4)))
    text = path.read_text()
    json.loads(text)  # strict JSON: NaN became null
    assert "NaN" not in text
    r = read_result(path)
    assert r["metrics"]["auc"] is None and r["schema"] == results.SCHEMA_VERSION
    np.testing.assert_array_equal(read_features(path), np.ones((1, 4)))
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_crash_while_writing_leaves_no_json(tmp_path, monkeypatch):
    real_replace = os.replace

    def crash(src, dst):
        if str(dst).endswith(".json"):
            raise KeyboardInterrupt("killed")
        real_replace(src, dst)

    monkeypatch.setattr(results.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        write_result(tmp_path / "r.json", minimal_result(), np.zeros((1, 2)))
    assert not (tmp_path / "r.json").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert valid_result(tmp_path / "r.json") is None  # so the run is done again


@pytest.mark.parametrize("damage", ["truncate", "features", "keys"])
def test_corrupt_result_is_reported_set_aside_and_redone(tmp_path, damage):
    path = write_result(tmp_path / "r.json", minimal_result(), np.zeros((1, 2)))
    if damage == "truncate":
        path.write_text(path.read_text()[:40])
    elif damage == "features":
        path.with_suffix(".features.npz").write_bytes(b"garbage")
    else:
        path.write_text(json.dumps({"run": {}}))
    with pytest.raises(CorruptResultError, match="r.json"):
        read_result(path)
    with pytest.warns(UserWarning, match="will be redone"):
        assert valid_result(path) is None
    assert not path.exists() and (tmp_path / "r.json.corrupt").exists()


def test_features_never_unpickle(tmp_path):
    path = write_result(tmp_path / "r.json", minimal_result(), np.zeros((1, 2)))
    feature_file = path.with_suffix(".features.npz")
    np.savez(feature_file, features=np.array([{"evil": 1}], dtype=object))
    r = json.loads(path.read_text())
    import hashlib

    r["features_sha256"] = hashlib.sha256(feature_file.read_bytes()).hexdigest()
    path.write_text(json.dumps(r))
    with pytest.raises(ValueError, match="allow_pickle"):
        read_features(path)


def test_network_result_blocks_from_its_record():
    """A network run's result dict from its `RunRecord`: every block, in the file's order (its bytes)."""
    from types import SimpleNamespace

    from breastnet.data.problems import FATAL, WARNING, Problem
    from breastnet.data.splits import Split
    from breastnet.model.variants import VARIANTS
    from breastnet.train.profiles import get_profile
    from breastnet.train.result import RunIdentity, RunRecord, TrainingRecord, network_result

    variant, profile = VARIANTS["E-DMTL"], get_profile("cpu")
    split = Split(fold=1, repeat=2, train=np.arange(7), val=np.arange(7, 9), test=np.arange(9, 12))
    warning = Problem(WARNING, "birads-missing", "a.png", "no BI-RADS")
    problems = [warning, Problem(FATAL, "x", "y", "z")]
    dataset = SimpleNamespace(name="bus-bra", synthetic=False, layout="manifest", citation="A. B.", problems=problems)
    seconds = {"fit": 1.5, "epochs": [0.5, 0.75, 0.25], "total": 2.0}
    training = TrainingRecord(
        input_size=224,
        optimizer="SGD(lr=0.001)",
        determinism="op-determinism",
        cpu_threads="2",
        validated=True,
        patch_key="abc",
        weights_used="random init",
        history={"loss": [np.float32(0.5), 0.25], "val_auc": [0.5, np.float64(0.75)]},
        best_epoch=2,
        learning_curve=True,
        seconds=seconds,
        images_per_epoch=64,
    )
    run = RunIdentity(variant, split, np.int64(7), profile, dataset)
    result = network_result(RunRecord(run, training, {"auc": 0.75}, {"id": ["a"]}, {"keras": "3"}))
    expected = {
        "run": {
            "variant": "E-DMTL",
            "family": "DMTL",
            "alpha": 0.25,
            "fold": 1,
            "repeat": 2,
            "seed": 7,
            "profile": "cpu",
            "dataset": "bus-bra",
        },
        "config": {
            "variant": variant.to_dict(),
            "profile": profile.to_dict(),
            "input_size": 224,
            "optimizer": "SGD(lr=0.001)",
            "loss": "CE - alpha*H(p) + MSE(BI-RADS score)",
            "determinism": "op-determinism",
            "run_eagerly": profile.run_eagerly,
            "cpu_threads": "2",
            "bn_stats": profile.bn_stats,
            "bn_momentum": profile.bn_momentum,
            "crop": profile.crop,
            "early_stopping": {"monitor": None, "patience": None, "min_epochs": None, "epochs": profile.epochs},
        },
        "dataset": {
            "name": "bus-bra",
            "synthetic": False,
            "layout": "manifest",
            "patch_key": "abc",
            "citation": "A. B.",
            "n_train": 7,
            "n_val": 2,
            "n_test": 3,
        },
        "weights": "random init",
        "warnings": [warning.to_dict()],
        "training": {
            "epochs_run": 2,
            "best_epoch": 2,
            "learning_curve": True,
            "history": {"loss": [0.5, 0.25], "val_auc": [0.5, 0.75]},
            "seconds": seconds,
            "train_images_per_second": 64 * 2 / (0.75 + 0.25),  # over the epochs after the first
        },
        "metrics": {"auc": 0.75},
        "provenance": {"keras": "3"},
        "predictions": {"id": ["a"]},
    }
    assert json.dumps(result) == json.dumps(expected)  # values, types (7, not 7.0) and key order
