"""The cache of derived arrays (patches, descriptors): content keys and atomic NPZ files.

A cache entry is keyed by the bytes of the images and masks it was computed from,
so an edited file never serves stale patches; it is written through a temporary
file renamed into place, so a killed process never leaves half an entry.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np


def hash_record_files(digest, records) -> None:
    """Feed each record's id and the bytes of its image and mask into `digest`."""
    for r in records:
        digest.update(r.id.encode())
        for path in (r.image, r.mask):
            if path is not None and Path(path).is_file():
                digest.update(hashlib.sha1(Path(path).read_bytes()).digest())
            else:
                digest.update(b"missing")


def read_npz_cache(path: Path, ids: list[str]) -> dict | None:
    """The arrays of a cache NPZ written for exactly `ids`; None if missing, stale or corrupt."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            if list(npz["ids"]) != ids:
                return None
            return {name: npz[name] for name in npz.files}
    except (OSError, ValueError, KeyError):
        return None  # corrupt: the caller recomputes and overwrites it


def save_npz_atomic(path: Path, **arrays) -> None:
    """Write arrays to an (uncompressed) NPZ through a temporary file renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
