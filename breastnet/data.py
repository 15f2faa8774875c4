"""Records: one per image, whatever the dataset's layout.

Three layouts are read (BUS-BRA, a generic CSV manifest, BUSI folders) and the
synthetic phantoms of `breastnet.synthetic` are written as a manifest, so the
rest of the package sees a single `Dataset` type. Loading never opens images;
`breastnet.checks` does that. Problems found while parsing are collected on
`Dataset.problems` instead of raised one at a time.
"""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from .birads import birads_score, normalize_birads
from .problems import FATAL, WARNING, DataError, Problem

#: Environment variable naming the dataset when no path is given.
DATA_ENV = "BREASTNET_DATA"

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

    def subset(self, ids, name: str | None = None) -> "Dataset":
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
    """The dataset path from the argument, else $BREASTNET_DATA, else None (synthetic)."""
    if path is None or str(path) == "":
        path = os.environ.get(DATA_ENV) or None
    return Path(path).expanduser() if path else None


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
    raise DataError([Problem(
        FATAL, "no-data", str(root),
        "holds no dataset: expected bus_data.csv (BUS-BRA), manifest.csv "
        "(image,mask,pathology,birads,patient) or benign/ and malignant/ folders (BUSI)",
    )])


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
        from .synthetic import synthetic_dataset

        return synthetic_dataset(seed=synthetic_seed, cache_dir=cache_dir)
    layout = detect_layout(root)
    loader = {"bus-bra": load_busbra, "manifest": load_manifest, "busi": load_busi}[layout]
    dataset = loader(root)
    if not dataset.records:
        raise DataError([Problem(FATAL, "no-data", str(root), "no image records found")])
    return dataset


def default_cache_dir() -> Path:
    """$BREASTNET_CACHE, else ~/.cache/breastnet."""
    env = os.environ.get("BREASTNET_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "breastnet"


# --------------------------------------------------------------------------- parsing


def _is_blank(value) -> bool:
    return value is None or str(value).strip() in ("", "NaN", "nan", "NA", "None")


def _parse_pathology(value, where: str, problems: list) -> int | None:
    key = str(value).strip().lower()
    if key not in PATHOLOGY_LABELS:
        problems.append(Problem(
            FATAL, "pathology-unknown", where,
            f"unknown pathology label {value!r} (expected benign/malignant or 0/1)"))
        return None
    return PATHOLOGY_LABELS[key]


def _parse_birads(value, where: str, problems: list):
    try:
        cat = normalize_birads(value)
    except ValueError as err:
        problems.append(Problem(WARNING, "birads-unknown", where, str(err)))
        return None, None
    if cat is None:
        problems.append(Problem(WARNING, "birads-missing", where, "BI-RADS category is missing"))
        return None, None
    return cat, birads_score(cat)


def _read_csv(path: Path, required: tuple[str, ...]) -> list[dict]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError([Problem(
                FATAL, "csv-columns", str(path),
                f"missing column(s) {', '.join(missing)}; found {reader.fieldnames}")])
        return list(reader)


def _records_from_rows(rows, csv_path: Path, source: str, columns: dict, resolve) -> tuple[list, list]:
    """Turn CSV rows into records, collecting every problem.

    Args:
        rows: dicts from csv.DictReader.
        csv_path: the CSV, for messages ("file.csv row 12").
        source: dataset name.
        columns: {"id", "pathology", "birads", "patient"} -> CSV column name.
        resolve: row -> (image path, mask path, meta dict).
    """
    records, problems, seen_ids, seen_images = [], [], {}, {}
    for lineno, row in enumerate(rows, start=2):  # line 1 is the header
        where = f"{csv_path.name} row {lineno}"
        blanks = [c for key, c in columns.items() if key != "birads" and _is_blank(row.get(c))]
        if blanks:
            problems.append(Problem(FATAL, "cell-empty", where,
                                    f"empty or NaN value in required column(s) {', '.join(blanks)}"))
            continue
        rid = str(row[columns["id"]]).strip()
        where = f"{csv_path.name} row {lineno} ({rid})"
        if rid in seen_ids:
            problems.append(Problem(FATAL, "id-duplicate", where,
                                    f"duplicate image id {rid!r}, first seen at row {seen_ids[rid]}"))
            continue
        seen_ids[rid] = lineno
        pathology = _parse_pathology(row[columns["pathology"]], where, problems)
        cat, score = _parse_birads(row.get(columns["birads"]), where, problems)
        image, mask, meta = resolve(row)
        if image in seen_images:
            problems.append(Problem(FATAL, "image-duplicate", where,
                                    f"image file {image} is also listed as {seen_images[image]!r}"))
            continue
        seen_images[image] = rid
        if pathology is None:
            continue
        records.append(Record(
            id=rid, image=image, mask=mask, pathology=pathology, birads=cat,
            birads_score=score, patient=str(row[columns["patient"]]).strip(),
            source=source, meta=meta))
    problems.extend(_patient_label_problems(records, csv_path.name))
    return records, problems


def _patient_label_problems(records, where: str) -> list[Problem]:
    """Patients with both benign and malignant images: legal, but worth saying."""
    by_patient: dict[str, set] = {}
    for r in records:
        by_patient.setdefault(r.patient, set()).add(r.pathology)
    mixed = sorted(p for p, labels in by_patient.items() if len(labels) > 1)
    if not mixed:
        return []
    return [Problem(WARNING, "patient-mixed-labels", where,
                    f"{len(mixed)} patient(s) have both benign and malignant images "
                    f"(kept in one fold): {', '.join(mixed[:10])}")]


# --------------------------------------------------------------------------- layouts


def load_busbra(root) -> Dataset:
    """BUS-BRA in its published layout (bus_data.csv, Images/, Masks/, k-fold CSVs)."""
    root = Path(root)
    csv_path = root / "bus_data.csv"
    rows = _read_csv(csv_path, ("ID", "Case", "Pathology", "BIRADS"))

    def resolve(row):
        rid = row["ID"].strip()
        meta = {k: row.get(k) for k in ("Histology", "Device", "Width", "Height", "Side", "BBOX")}
        mask_name = re.sub(r"^bus_", "mask_", rid) + ".png"
        return root / "Images" / f"{rid}.png", root / "Masks" / mask_name, meta

    records, problems = _records_from_rows(
        rows, csv_path, "BUS-BRA",
        {"id": "ID", "pathology": "Pathology", "birads": "BIRADS", "patient": "Case"}, resolve)
    folds = {}
    for k in (5, 10):
        fold_csv = root / f"{k}-fold-cv.csv"
        if fold_csv.is_file():
            folds[k] = {r["ID"].strip(): int(float(r["kFold"])) for r in _read_csv(fold_csv, ("ID", "kFold"))}
    return Dataset(name="BUS-BRA", root=root, layout="bus-bra", records=records,
                   problems=problems, folds=folds, citation=BUSBRA_CITATION)


def load_manifest(path) -> Dataset:
    """A generic CSV manifest: image,mask,pathology,birads,patient (paths relative to the CSV).

    An optional `id` column names images (default: the image file's stem); an
    optional `dataset.json` beside the CSV may give {"name", "synthetic", "citation"}.
    """
    path = Path(path)
    csv_path = path / "manifest.csv" if path.is_dir() else path
    base = csv_path.parent
    rows = _read_csv(csv_path, ("image", "mask", "pathology", "birads", "patient"))
    for row in rows:
        if _is_blank(row.get("id")) and not _is_blank(row.get("image")):
            row["id"] = Path(row["image"]).stem

    def resolve(row):
        mask = None if _is_blank(row.get("mask")) else base / row["mask"].strip()
        meta = {k: v for k, v in row.items() if k not in ("id", "image", "mask", "pathology", "birads", "patient")}
        return base / row["image"].strip(), mask, meta

    info_file = base / "dataset.json"
    info = json.loads(info_file.read_text()) if info_file.is_file() else {}
    name = info.get("name", base.name)
    records, problems = _records_from_rows(
        rows, csv_path, name,
        {"id": "id", "pathology": "pathology", "birads": "birads", "patient": "patient"}, resolve)
    for r in records:
        if r.mask is None:
            problems.append(Problem(FATAL, "mask-missing", f"{csv_path.name} ({r.id})",
                                    "no mask given; OA/HS patches need the lesion mask"))
    return Dataset(name=name, root=base, layout="manifest", records=records, problems=problems,
                   synthetic=bool(info.get("synthetic", False)), citation=info.get("citation"))


def load_busi(root) -> Dataset:
    """The BUSI folder layout: benign/ and malignant/ with `X.png` and `X_mask.png`.

    BUSI has no BI-RADS and no patient ids: each image is its own patient (which
    BUSI's authors do not guarantee; the check says so) and multi-task variants
    refuse the dataset.
    """
    root = Path(root)
    records, problems = [], []
    for label_name, label in (("benign", 0), ("malignant", 1)):
        folder = root / label_name
        if not folder.is_dir():
            continue
        for image in sorted(folder.glob("*.png")):
            if "_mask" in image.stem:
                continue
            mask = image.with_name(f"{image.stem}_mask.png")
            rid = f"{label_name}/{image.stem}"
            records.append(Record(id=rid, image=image, mask=mask if mask.exists() else None,
                                  pathology=label, birads=None, birads_score=None,
                                  patient=rid, source="BUSI"))
            if not mask.exists():
                problems.append(Problem(FATAL, "mask-missing", str(mask), "mask file does not exist"))
    if records:
        problems.append(Problem(WARNING, "birads-missing", str(root),
                                "BUSI has no BI-RADS categories: multi-task variants cannot use it"))
        problems.append(Problem(WARNING, "patient-unknown", str(root),
                                "BUSI has no patient ids: each image is treated as its own patient"))
    return Dataset(name=root.name or "BUSI", root=root, layout="busi", records=records, problems=problems)
