"""Open a dataset: find its layout, read it, or make the synthetic default.

The one entry point of the data layer (`load_dataset`): the rest of the package
sees a single `Dataset` type whatever the layout.
"""

from __future__ import annotations

from pathlib import Path

from .layouts import load_busbra, load_busi, load_manifest
from .problems import FATAL, DataError, Problem
from .records import Dataset, resolve_data_path
from .synthetic import synthetic_dataset


def detect_layout(root: Path) -> str:
    """Name the layout of a dataset folder or manifest file.

    Raises:
        DataError: when the path does not exist or holds no dataset we can read.
    """
    root = Path(root)
    if not root.exists():
        raise DataError([Problem(FATAL, "no-data", str(root), "path does not exist")])
    if root.is_file():
        if root.suffix.lower() == ".csv":
            return "manifest"
        raise DataError([Problem(FATAL, "no-data", str(root), "a file that is not a CSV manifest")])
    if (root / "bus_data.csv").is_file():
        return "bus-bra"
    if (root / "manifest.csv").is_file():
        return "manifest"
    if (root / "benign").is_dir() or (root / "malignant").is_dir():
        return "busi"
    raise DataError(
        [
            Problem(
                FATAL,
                "no-data",
                str(root),
                "holds no dataset: expected bus_data.csv (BUS-BRA), manifest.csv "
                "(image,mask,pathology,birads,patient) or benign/ and malignant/ folders (BUSI)",
            )
        ]
    )


def load_dataset(path=None, *, synthetic_seed: int = 0, cache_dir=None) -> Dataset:
    """Read a dataset, or make the synthetic default when no path is given.

    Args:
        path: a BUS-BRA folder, a BUSI folder, a manifest CSV (or a folder with
            manifest.csv); None reads $BREASTNET_DATA, and when that is unset too the
            synthetic phantoms are generated (cached under `cache_dir`).
        synthetic_seed: seed of the synthetic phantoms.
        cache_dir: where generated phantoms are written; default `default_cache_dir()`.
    """
    root = resolve_data_path(path)
    if root is None:
        return synthetic_dataset(seed=synthetic_seed, cache_dir=cache_dir)
    layout = detect_layout(root)
    loader = {"bus-bra": load_busbra, "manifest": load_manifest, "busi": load_busi}[layout]
    dataset = loader(root)
    if not dataset.records:
        raise DataError([Problem(FATAL, "no-data", str(root), "no image records found")])
    return dataset
