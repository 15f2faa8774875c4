"""Result files: one JSON per run, written atomically, checked when read.

A run's JSON holds its config, provenance, timings, metrics and per-image test
predictions; the penultimate features of its test images sit in an NPZ beside it
(plain float arrays, no pickled objects), named and hashed in the JSON. The NPZ
is written first and the JSON last, each to a temporary file renamed into
place, so a JSON on disk means a finished run, and a run killed at any moment
leaves either nothing or a complete pair. A file that fails to parse or check is
moved aside (`*.corrupt`), reported, and its run is done again.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

SCHEMA_VERSION = 1
REQUIRED_KEYS = ("schema", "run", "config", "provenance", "metrics", "predictions", "features_file")


class CorruptResultError(ValueError):
    """A result file that cannot be trusted."""


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; result files are meant to be read
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _json_safe(value):
    """NaN and inf become null (strict JSON); numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist())
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, Path):
        return str(value)
    return value


def write_result(path, result: dict, features: np.ndarray) -> Path:
    """Write a run's JSON and its features NPZ atomically (NPZ first).

    Args:
        path: the JSON path; the features go to the same stem + ".features.npz".
        result: the run's dict (see `breastnet.train.trainer.Trainer.run`).
        features: float (n_test, d) penultimate features, in prediction order.
    """
    path = Path(path)
    feature_path = path.with_suffix(".features.npz")
    import io

    buffer = io.BytesIO()
    np.savez_compressed(buffer, features=np.asarray(features, dtype=np.float32))
    blob = buffer.getvalue()
    _atomic_write_bytes(feature_path, blob)
    payload = dict(
        result, schema=SCHEMA_VERSION, features_file=feature_path.name, features_sha256=hashlib.sha256(blob).hexdigest()
    )
    text = json.dumps(_json_safe(payload), indent=1, allow_nan=False)
    _atomic_write_bytes(path, text.encode("utf-8"))
    return path


def read_result(path, check_features: bool = True) -> dict:
    """Read and check a result JSON.

    Raises:
        CorruptResultError: unparsable JSON, missing keys, or features file missing or
            not matching its recorded hash.
    """
    path = Path(path)
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorruptResultError(f"{path}: not a readable JSON result ({err})") from None
    missing = [k for k in REQUIRED_KEYS if k not in result] if isinstance(result, dict) else REQUIRED_KEYS
    if missing:
        raise CorruptResultError(f"{path}: missing key(s) {', '.join(missing)}")
    if result["schema"] != SCHEMA_VERSION:
        raise CorruptResultError(f"{path}: schema {result['schema']}, expected {SCHEMA_VERSION}")
    if check_features:
        feature_path = path.parent / result["features_file"]
        try:
            digest = hashlib.sha256(feature_path.read_bytes()).hexdigest()
        except OSError as err:
            raise CorruptResultError(f"{path}: features file unreadable ({err})") from None
        if digest != result.get("features_sha256"):
            raise CorruptResultError(f"{path}: features file {feature_path.name} does not match its hash")
    return result


def read_features(path) -> np.ndarray:
    """The penultimate features of a run's test images (no pickle allowed)."""
    path = Path(path)
    result = read_result(path)
    with np.load(path.parent / result["features_file"], allow_pickle=False) as npz:
        return npz["features"]


def valid_result(path) -> dict | None:
    """The result at `path` if it exists and checks out; a corrupt one is set aside.

    Returns None when the run has to be (re)done.
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        return read_result(path)
    except CorruptResultError as err:
        aside = path.with_suffix(".json.corrupt")
        os.replace(path, aside)
        warnings.warn(f"{err}; moved to {aside.name} and the run will be redone", stacklevel=2)
        return None


def load_results(folder, pattern: str = "*.json", external: bool = False, heldout: bool = False) -> list[dict]:
    """Every valid result under `folder` (recursively); corrupt ones are reported, skipped.

    Args:
        folder: a results root or study folder.
        pattern: file name pattern.
        external: also the external-validation results (`breastnet.deploy.evaluate`), which
            are not cross-validation runs.
        heldout: also the held-out runs (`breastnet.study.heldout`), which are not
            cross-validation runs either.
    """
    out = []
    for path in sorted(Path(folder).rglob(pattern)):
        if path.name == "study.json" or path.name.endswith(".card.json"):  # descriptions, not runs
            continue
        try:
            result = read_result(path, check_features=False)
        except CorruptResultError as err:
            warnings.warn(str(err), stacklevel=2)
            continue
        kind = result["run"].get("kind")
        if (kind == "external" and not external) or (kind == "heldout" and not heldout):
            continue
        result["path"] = str(path)
        out.append(result)
    return out
