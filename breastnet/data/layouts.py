"""Dataset layouts on disk: BUS-BRA, a generic CSV manifest, BUSI folders.

Each loader parses its layout's files into `Record`s without opening an image
(`breastnet.data.checks` does that) and collects what it could not parse as
`Problem`s on `Dataset.problems` instead of raising them one at a time.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from .birads import birads_score, normalize_birads
from .problems import FATAL, WARNING, DataError, Problem
from .records import BUSBRA_CITATION, PATHOLOGY_LABELS, Dataset, Record


def _is_blank(value) -> bool:
    return value is None or str(value).strip() in ("", "NaN", "nan", "NA", "None")


def _parse_pathology(value, where: str, problems: list) -> int | None:
    key = str(value).strip().lower()
    if key not in PATHOLOGY_LABELS:
        problems.append(
            Problem(
                FATAL,
                "pathology-unknown",
                where,
                f"unknown pathology label {value!r} (expected benign/malignant or 0/1)",
            )
        )
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
            raise DataError(
                [
                    Problem(
                        FATAL,
                        "csv-columns",
                        str(path),
                        f"missing column(s) {', '.join(missing)}; found {reader.fieldnames}",
                    )
                ]
            )
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
            problems.append(
                Problem(FATAL, "cell-empty", where, f"empty or NaN value in required column(s) {', '.join(blanks)}")
            )
            continue
        rid = str(row[columns["id"]]).strip()
        where = f"{csv_path.name} row {lineno} ({rid})"
        if rid in seen_ids:
            problems.append(
                Problem(FATAL, "id-duplicate", where, f"duplicate image id {rid!r}, first seen at row {seen_ids[rid]}")
            )
            continue
        seen_ids[rid] = lineno
        pathology = _parse_pathology(row[columns["pathology"]], where, problems)
        cat, score = _parse_birads(row.get(columns["birads"]), where, problems)
        image, mask, meta = resolve(row)
        if image in seen_images:
            problems.append(
                Problem(FATAL, "image-duplicate", where, f"image file {image} is also listed as {seen_images[image]!r}")
            )
            continue
        seen_images[image] = rid
        if pathology is None:
            continue
        records.append(
            Record(
                id=rid,
                image=image,
                mask=mask,
                pathology=pathology,
                birads=cat,
                birads_score=score,
                patient=str(row[columns["patient"]]).strip(),
                source=source,
                meta=meta,
            )
        )
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
    return [
        Problem(
            WARNING,
            "patient-mixed-labels",
            where,
            f"{len(mixed)} patient(s) have both benign and malignant images "
            f"(kept in one fold): {', '.join(mixed[:10])}",
        )
    ]


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
        rows,
        csv_path,
        "BUS-BRA",
        {"id": "ID", "pathology": "Pathology", "birads": "BIRADS", "patient": "Case"},
        resolve,
    )
    folds = {}
    for k in (5, 10):
        fold_csv = root / f"{k}-fold-cv.csv"
        if fold_csv.is_file():
            folds[k] = {r["ID"].strip(): int(float(r["kFold"])) for r in _read_csv(fold_csv, ("ID", "kFold"))}
    return Dataset(
        name="BUS-BRA",
        root=root,
        layout="bus-bra",
        records=records,
        problems=problems,
        folds=folds,
        citation=BUSBRA_CITATION,
    )


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
        rows, csv_path, name, {"id": "id", "pathology": "pathology", "birads": "birads", "patient": "patient"}, resolve
    )
    for r in records:
        if r.mask is None:
            problems.append(
                Problem(
                    FATAL,
                    "mask-missing",
                    f"{csv_path.name} ({r.id})",
                    "no mask given; OA/HS patches need the lesion mask",
                )
            )
    return Dataset(
        name=name,
        root=base,
        layout="manifest",
        records=records,
        problems=problems,
        synthetic=bool(info.get("synthetic", False)),
        citation=info.get("citation"),
    )


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
            records.append(
                Record(
                    id=rid,
                    image=image,
                    mask=mask if mask.exists() else None,
                    pathology=label,
                    birads=None,
                    birads_score=None,
                    patient=rid,
                    source="BUSI",
                )
            )
            if not mask.exists():
                problems.append(Problem(FATAL, "mask-missing", str(mask), "mask file does not exist"))
    if records:
        problems.append(
            Problem(
                WARNING,
                "birads-missing",
                str(root),
                "BUSI has no BI-RADS categories: multi-task variants cannot use it",
            )
        )
        problems.append(
            Problem(
                WARNING,
                "patient-unknown",
                str(root),
                "BUSI has no patient ids: each image is treated as its own patient",
            )
        )
    return Dataset(name=root.name or "BUSI", root=root, layout="busi", records=records, problems=problems)
