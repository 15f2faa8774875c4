"""Predict with a saved model: p(malignant) of images of one's own.

    python -m breastnet predict --model M.keras --image IMG --mask MASK
    python -m breastnet predict --model M.keras --manifest CSV --out predictions.csv

Images go through the same code as training: `breastnet.data.checks` reads and checks each
image and mask (missing, unreadable, empty mask, sizes that differ, an image that is not
greyscale, RGB or RGBA), `breastnet.data.patches` cuts the OA/HS patches with the settings in
the model card, and the backbone's own preprocessing follows. A bad image is named with
its problem; in a manifest, the good rows are still predicted.
"""

from __future__ import annotations

import csv
from pathlib import Path

import keras
import numpy as np

from ..data.augment import to_model_input
from ..data.birads import BIRADS_SCORES
from ..data.checks import check_record
from ..data.patches import record_patch
from ..data.problems import FATAL, DataError, Problem
from ..data.records import Record
from ..model.backbones import BACKBONES
from ..model.network import BreastNet
from ..study.final import read_card
from ..train.metrics import prediction_entropy_np

#: The categories a BI-RADS score is rounded to when the card does not list the training ones.
DEFAULT_CATEGORIES = ("2", "3", "4A", "4B", "4C", "5")


class ModelFileError(ValueError):
    """A model file that is missing or is not a breastnet model."""


def load_final_model(path) -> tuple[BreastNet, dict]:
    """A saved `BreastNet` and its model card (an empty dict when the card is missing)."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist")
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as err:
        raise ModelFileError(f"model file {path} cannot be loaded: {type(err).__name__}: {err}") from None
    if not isinstance(model, BreastNet):
        raise ModelFileError(f"model file {path} holds a {type(model).__name__}, not a breastnet BreastNet model")
    return model, read_card(path) or {}


def nearest_birads(score: float, categories=DEFAULT_CATEGORIES) -> str:
    """The category whose regression score is closest to `score` (`breastnet.data.birads`)."""
    return min(categories, key=lambda cat: abs(BIRADS_SCORES[cat] - float(score)))


def patch_settings(model, card) -> tuple[int, float, str]:
    inputs = card.get("inputs", {})
    return model.size, float(inputs.get("margin", 0.1)), str(inputs.get("crop", "pad"))


def predict_records(model, records, card=None, batch_size: int = 32) -> list[dict]:
    """p(malignant), class, entropy and (multi-task models) BI-RADS of each record.

    Records must have passed `check_record`; the patches are cut as in training.
    """
    card = card or {}
    size, margin, crop = patch_settings(model, card)
    preprocess = BACKBONES[model.backbone].preprocess
    pairs = [record_patch(r, size, margin, crop) for r in records]
    x = {"oa": to_model_input(np.stack([p[0] for p in pairs]), preprocess)}
    if "hs" in model.streams:
        x["hs"] = to_model_input(np.stack([p[1] for p in pairs]), preprocess)
    out = model.inference.predict(x, batch_size=batch_size, verbose=0)
    return _rows(model, card, records, out)


def _rows(model, card, records, out) -> list[dict]:
    p = np.asarray(out["malignancy"], dtype=np.float64)[:, 1]
    entropy = prediction_entropy_np(np.stack([1 - p, p], axis=1))
    trained = [c for c in card.get("data", {}).get("birads", {}) if c in BIRADS_SCORES]
    categories = tuple(trained) or DEFAULT_CATEGORIES
    rows = []
    for n, record in enumerate(records):
        row = {
            "id": record.id,
            "image": str(record.image),
            "mask": str(record.mask),
            "p_malignant": float(p[n]),
            "predicted": "malignant" if p[n] >= 0.5 else "benign",
            "entropy": float(entropy[n]),
        }
        if model.multitask:
            score = float(np.asarray(out["birads"])[n, 0])
            row.update(birads_score=score, birads_nearest=nearest_birads(score, categories))
        rows.append(row)
    return rows


def image_record(image, mask, record_id: str | None = None) -> Record:
    """A record for one image of one's own (no label)."""
    image = Path(image)
    return Record(
        id=record_id or image.stem,
        image=image,
        mask=Path(mask) if mask is not None else None,
        pathology=-1,
        birads=None,
        birads_score=None,
        patient=record_id or image.stem,
        source="user",
    )


def predict_image(model, image, mask, card=None) -> dict:
    """Predict one image; raise `DataError` naming the file and the problem when it cannot be used."""
    record = image_record(image, mask)
    if mask is None:
        raise DataError([Problem(FATAL, "mask-missing", str(image), "a lesion mask is required (--mask)")])
    fatal = [p for p in check_record(record) if p.severity == FATAL]
    if fatal:
        raise DataError(fatal)
    return predict_records(model, [record], card)[0]


def read_manifest_rows(path) -> list[Record]:
    """Records of a prediction manifest: columns image, mask (relative to the CSV), optional id."""
    path = Path(path)
    if not path.is_file():
        raise DataError([Problem(FATAL, "no-data", str(path), "manifest file does not exist")])
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ("image", "mask") if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError([Problem(FATAL, "manifest-columns", str(path), f"missing column(s) {', '.join(missing)}")])
        rows = list(reader)
    records = []
    for n, row in enumerate(rows, start=2):  # line 1 is the header
        image = (path.parent / row["image"].strip()) if row["image"].strip() else path.parent / f"<line {n}: no image>"
        mask = (path.parent / row["mask"].strip()) if row["mask"].strip() else None
        records.append(image_record(image, mask, (row.get("id") or "").strip() or f"line{n}-{Path(image).stem}"))
    return records


def predict_manifest(model, manifest, card=None) -> tuple[list[dict], list[Problem]]:
    """Predict every usable row of a manifest; the bad rows come back as problems, not raised."""
    good, problems = [], []
    for record in read_manifest_rows(manifest):
        if record.mask is None:
            problems.append(Problem(FATAL, "mask-missing", str(record.image), f"row {record.id} names no mask"))
            continue
        fatal = [p for p in check_record(record) if p.severity == FATAL]
        problems.extend(fatal)
        if not fatal:
            good.append(record)
    rows = predict_records(model, good, card) if good else []
    return rows, problems


def write_predictions_csv(rows, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = list(dict.fromkeys(k for row in rows for k in row)) or ["id"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return path
