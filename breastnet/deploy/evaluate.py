"""Evaluate on another dataset (external validation): one saved model, or the study's final models.

    python -m breastnet evaluate --model M.keras --data OTHER --out DIR
    python -m breastnet external --data STUDY --external OTHER --profile cpu --out results

`evaluate_external` applies one saved model (`breastnet.deploy.predict`) to a checked dataset and
scores it with patient-clustered bootstrap intervals. `run_external` does it for the study:

For each two-stream row of Table 1 (DSTL, E-DSTL, DMTL, E-DMTL) a final model is trained
on the whole study dataset (`breastnet.deploy.fit`) and evaluated on the external one
(`evaluate_external`); the classical floor is fitted on every study
image's descriptors and applied to the external images'. Everything lands in the study's
result folder, so a second build only reads it:

    <study folder>/final/<variant>_a<alpha>_<profile>.keras (+ .card.json, .card.md)
    <study folder>/external/<external name>-<content hash>/<model stem>.json (+ .features.npz)

A model is reused while its card's data hash and profile match; an external result while
it names the model file's current hash.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np

from ..data.augment import to_model_input
from ..data.checks import check_dataset
from ..data.descriptors import descriptor_matrix
from ..data.patches import load_patches
from ..data.problems import FATAL, DataError, raise_if_fatal
from ..model.backbones import BACKBONES
from ..model.variants import get_variant
from ..study.final import FINAL_ROWS, content_hash, final_model_path, read_card
from ..study.plan import study_dataset, study_folder
from ..study.results import valid_result, write_result
from ..train.floor import WEIGHTS as FLOOR_WEIGHTS
from ..train.floor import fit_floor, floor_config, floor_probability
from ..train.metrics import ECE_BINS, bootstrap_ci
from ..train.result import score_test_images
from ..train.runtime import provenance
from ..train.trainer import Trainer
from .fit import fit_final
from .predict import load_final_model, patch_settings

#: The rows validated externally: the study's final models (Table 1's two-stream networks, the floor).
EXTERNAL_ROWS = FINAL_ROWS


def external_folder(results, data, profile, external) -> Path:
    """Where a study's results on an external dataset go: named by its name and content."""
    return (
        study_folder(results, data, profile, profile.weights)
        / "external"
        / (f"{external.name}-{content_hash(external)[:8]}")
    )


def final_model(data, profile, name, results, log=print, trainer=None) -> Path:
    """The final model of a variant for this study, trained unless a matching one is on disk."""
    variant = profile.variant(name)
    path = final_model_path(study_folder(results, data, profile, profile.weights), variant, profile)
    folder = path.parent
    card = read_card(path) if path.is_file() else None
    if (
        card
        and card["data"]["content_sha256"] == content_hash(data)
        and card["training"]["profile"] == _jsonable(profile.to_dict())
    ):
        log(f"{path.name}: reused")
        return path
    return fit_final(data, profile, name, folder, results=results, log=log, trainer=trainer)


def _jsonable(d: dict) -> dict:
    import json

    return json.loads(json.dumps(d))


def floor_external(data, external, profile, problems) -> tuple[dict, np.ndarray]:
    """The descriptor floor fitted on every study image, applied to the external images."""
    x_train, x_test = descriptor_matrix(data), descriptor_matrix(external)
    y = np.array([r.pathology for r in data.records])
    pipeline = fit_floor(x_train, y, profile.seed)
    variant = get_variant("Descriptors").to_dict()
    result = external_result(
        variant=variant,
        dataset=external,
        problems=problems,
        p_malignant=floor_probability(pipeline, x_test),
        birads_pred=None,
        config={"variant": variant, "profile": profile.to_dict(), **floor_config(pipeline)},
        model={
            "file": None,
            "trained_on": {"name": data.name, "content_sha256": content_hash(data), "images": len(data)},
            "weights": FLOOR_WEIGHTS,
        },
    )
    return result, pipeline.named_steps["scale"].transform(x_test)


def run_external(dataset, external, profile, results, rows=EXTERNAL_ROWS, log=print) -> list[dict]:
    """Final models of `rows` on the study data, each evaluated on `external`; results read or written.

    Args:
        dataset: the study's full dataset (the profile's subset is taken here).
        external: the external `Dataset`.
        profile: the study's profile.
        results: the results root of the study.
        rows: variant names (networks and/or "Descriptors").
        log: where progress lines go.

    Returns:
        The external result dicts, in `rows` order.
    """
    data = study_dataset(dataset, profile)
    data = replace(data, problems=check_dataset(data, multitask=True))
    raise_if_fatal(data.problems, needs_birads=any(get_variant(r).multitask for r in rows), context=data.name)
    problems = checked_external(external)
    out = external_folder(results, data, profile, external)
    trainer = Trainer(profile, verbose=0)  # one compiled model per architecture for all final models
    found = []
    for name in rows:
        variant = profile.variant(name)
        if not variant.learned:
            path = out / f"Descriptors_{profile.name}.json"
            result = valid_result(path)
            if result is None:
                result, features = floor_external(data, external, profile, problems)
                write_result(path, result, features)
                result = valid_result(path)
            found.append(result)
            continue
        model = final_model(data, profile, name, results, log, trainer)
        path = out / f"{model.stem}.json"
        result = valid_result(path)
        if result is None or result.get("model", {}).get("sha256") != file_sha256(model):
            result, features = evaluate_external(model, external)
            write_result(path, result, features)
            result = valid_result(path)
        m = result["metrics"]
        log(
            f"{name} on {external.name}: AUC {m['auc']:.3f}, sensitivity {m['sensitivity']:.3f}, "
            f"specificity {m['specificity']:.3f}"
        )
        found.append(result)
    return found


def checked_external(dataset):
    """The external dataset with its problems read; every fatal one refuses it up front (as `sweep` does)."""
    problems = check_dataset(dataset, multitask=False)
    fatal = [p for p in problems if p.severity == FATAL]
    if fatal:
        raise DataError(fatal, context=f"external dataset {dataset.name}")
    return problems


def external_result(*, variant: dict, dataset, problems, p_malignant, birads_pred, config, model) -> dict:
    """A result of the CV runs' schema for one model on an external dataset.

    BI-RADS categories are scored with the table as it is (an undivided 4 and 4A/4B/4C side
    by side), and the result counts the images of each category.
    """
    records = dataset.records
    metrics, predictions = score_test_images(records, p_malignant, birads_pred)
    name = variant["name"]
    return {
        "run": {
            "variant": name,
            "family": name[2:] if name.startswith("E-") else name,
            "alpha": float(variant["alpha"]),
            "fold": -1,
            "repeat": -1,
            "seed": -1,
            "profile": (config.get("profile") or {}).get("name"),
            "dataset": dataset.name,
            "kind": "external",
        },
        "config": config,
        "model": model,
        "dataset": {
            "name": dataset.name,
            "synthetic": dataset.synthetic,
            "layout": dataset.layout,
            "citation": dataset.citation,
            "n_test": len(records),
            **dataset.summary(),
        },
        "birads_categories": dict(sorted(Counter(r.birads or "missing" for r in records).items())),
        "warnings": [q.to_dict() for q in problems if q.severity != FATAL],
        "metrics": metrics,
        "metrics_ci": {
            "level": 0.95,
            "method": "percentile bootstrap over patients (all images of a patient together, within benign "
            "and malignant), 2000 resamples (breastnet.train.bootstrap)",
            **{
                m: list(bootstrap_ci(predictions["y_true"], p_malignant, m, patients=predictions["patient"]))
                for m in ("auc", "sensitivity", "specificity")
            },
        },
        "calibration": {"bins": ECE_BINS, "ece": metrics.get("ece"), "brier": metrics.get("brier")},
        "provenance": provenance(),
        "predictions": predictions,
    }


def evaluate_external(model_path, dataset, batch_size: int = 32) -> tuple[dict, np.ndarray]:
    """A saved model on another dataset (external validation): its result and penultimate features."""
    model, card = load_final_model(model_path)
    problems = checked_external(dataset)
    size, margin, crop = patch_settings(model, card)
    patches = load_patches(dataset, size, margin, progress=False, crop=crop)
    preprocess = BACKBONES[model.backbone].preprocess
    x = {"oa": to_model_input(patches.oa, preprocess)}
    if "hs" in model.streams:
        x["hs"] = to_model_input(patches.hs, preprocess)
    out = model.inference.predict(x, batch_size=batch_size, verbose=0)
    variant = card.get("variant", {"name": model.name, "alpha": float(keras.ops.convert_to_numpy(model.alpha))})
    result = external_result(
        variant=variant,
        dataset=dataset,
        problems=problems,
        p_malignant=np.asarray(out["malignancy"], dtype=np.float64)[:, 1],
        birads_pred=np.asarray(out["birads"])[:, 0] if model.multitask and dataset.has_birads else None,
        config={
            "variant": variant,
            "profile": card.get("training", {}).get("profile"),
            "input_size": size,
            "crop": crop,
            "margin": margin,
        },
        model={
            "file": str(Path(model_path).resolve()),
            "sha256": file_sha256(model_path),
            "trained_on": card.get("data"),
            "weights": card.get("training", {}).get("weights"),
        },
    )
    return result, np.asarray(out["features"])


def file_sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
