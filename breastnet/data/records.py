"""Records: one per image, whatever the dataset's layout, and the `Dataset` that holds them.

The layouts (`breastnet.data.layouts`) and the synthetic phantoms
(`breastnet.data.synthetic`) all produce these types; `breastnet.data.load` picks one.
Also where data lives: the dataset path ($BREASTNET_DATA, or "busbra": BUS-BRA downloaded
into the cache) and the cache folder.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..defaults import cache_dir
from .problems import Problem

#: Environment variable naming the dataset when no path is given.
DATA_ENV = "BREASTNET_DATA"

#: The data path (any case, a str) that means BUS-BRA in the cache folder, downloaded if need be.
BUSBRA_NAME = "busbra"

PATHOLOGY_LABELS = {"benign": 0, "malignant": 1, "0": 0, "1": 1}

BUSBRA_CITATION = (
    'W. Gomez-Flores, M. J. Gregorio-Calas, W. C. de Albuquerque Pereira, "BUS-BRA: '
    'A Breast Ultrasound Dataset for Assessing Computer-aided Diagnosis Systems", '
    "Medical Physics 51(4):3110-3123, 2024, doi:10.1002/mp.16812"
)


@dataclass(frozen=True)
class Record:
    """One ultrasound image and what is known about it.

    Args:
        id: unique image id within the dataset.
        image: path of the greyscale image.
        mask: path of the lesion mask (lesion > 0), or None when there is none.
        pathology: 0 benign, 1 malignant (biopsy-proven in BUS-BRA).
        birads: canonical BI-RADS category ("2", "4A", ...) or None.
        birads_score: regression target of `birads`, or None.
        patient: patient id; images of one patient never straddle a split.
        source: dataset name, e.g. "BUS-BRA" or "synthetic".
        meta: layout-specific fields kept for checks (device, width, bbox...).
    """

    id: str
    image: Path
    mask: Path | None
    pathology: int
    birads: str | None
    birads_score: float | None
    patient: str
    source: str
    meta: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass
class Dataset:
    """A list of records plus what was learnt while reading them.

    Args:
        name: short name shown in results ("BUS-BRA", "synthetic", a folder name).
        root: folder the dataset was read from.
        layout: "bus-bra", "manifest" or "busi".
        records: one Record per image, in file order.
        problems: every Problem found while parsing.
        folds: official partitions, {n_folds: {image id: test fold (1-based)}}.
        synthetic: True for generated phantoms; everything that shows results says so.
        citation: how the dataset must be cited, if its licence asks.
    """

    name: str
    root: Path
    layout: str
    records: list[Record]
    problems: list[Problem] = field(default_factory=list)
    folds: dict[int, dict[str, int]] = field(default_factory=dict)
    synthetic: bool = False
    citation: str | None = None

    def __len__(self) -> int:
        return len(self.records)

    @property
    def has_birads(self) -> bool:
        return bool(self.records) and all(r.birads is not None for r in self.records)

    def subset(self, ids, name: str | None = None) -> Dataset:
        """The dataset restricted to `ids`, in this dataset's order."""
        keep = set(ids)
        records = [r for r in self.records if r.id in keep]
        folds = {k: {i: f for i, f in m.items() if i in keep} for k, m in self.folds.items()}
        return replace(self, name=name or self.name, records=records, folds=folds)

    def summary(self) -> dict:
        """Counts a reader wants first: images, patients, classes, BI-RADS."""
        from collections import Counter

        return {
            "name": self.name,
            "synthetic": self.synthetic,
            "images": len(self.records),
            "patients": len({r.patient for r in self.records}),
            "benign": sum(r.pathology == 0 for r in self.records),
            "malignant": sum(r.pathology == 1 for r in self.records),
            "birads": dict(sorted(Counter(r.birads or "missing" for r in self.records).items())),
        }


def resolve_data_path(path: str | os.PathLike | None) -> Path | None:
    """The dataset path from the argument, else $BREASTNET_DATA, else None (synthetic).

    The string "busbra" (any case, from either) is BUS-BRA in `default_cache_dir() / "BUS-BRA"`,
    downloaded from Zenodo, checked and unpacked first when it is not there
    (`breastnet.data.download.fetch_busbra`). A folder named busbra is "./busbra" or a Path.
    """
    if path is None or str(path) == "":
        path = os.environ.get(DATA_ENV) or None
    if isinstance(path, str) and path.strip().lower() == BUSBRA_NAME:
        return _busbra_folder()
    return Path(path).expanduser() if path else None


def _busbra_folder() -> Path:
    # download reads datasets (download -> load -> records), so this module must not import it,
    # not even inside a function: importlib at call time keeps the import graph acyclic
    # (tests/test_layout.py), and `import breastnet.data.records` free of pooch.
    download = importlib.import_module(f"{__package__}.download")
    return download.fetch_busbra()


def default_cache_dir() -> Path:
    """$BREASTNET_CACHE, else the checkout's .cache (as `make book`), else ~/.cache/breastnet
    (`breastnet.defaults.cache_dir`)."""
    return cache_dir()
