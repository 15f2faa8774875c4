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
