"""The study's final models: where they are kept, how they are saved, and their model cards.

The seed-0 network of each held-out row (`breastnet.study.jobs`) and `python -m breastnet fit`
(`breastnet.deploy.fit`) save a model here: a native Keras file (`BreastNet`, no Lambda layers,
no pickle) that reloads with `keras.saving.load_model(path, safe_mode=True)` once `breastnet` is
imported, and beside it a model card (`.card.json` and `.card.md`) saying what it is, what it was
trained on and how, how the same configuration did in cross-validation, and that it is for
research only.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from ..data.cache import hash_record_files
from ..model.variants import TABLE1, family, get_variant
from ..train.result import early_stopping_record
from ..train.runtime import provenance
from .plan import study_folder
from .results import _atomic_write_bytes, load_results

INTENDED_USE = (
    "Research use only; not a medical device. Not validated for clinical decisions: it was "
    "trained on a small dataset, from the weights named below, and its cross-validated and "
    "external metrics are the only evidence of how it behaves."
)


#: The rows whose final models the study keeps and tests on external data: Table 1's two-stream
#: networks and the descriptor floor.
FINAL_ROWS = tuple(v for v in TABLE1 if set(get_variant(v).streams) == {"oa", "hs"}) + ("Descriptors",)


def model_stem(variant, profile) -> str:
    """File name of a final model without suffix: variant, alpha and profile (E-DMTL_a0.25_cpu)."""
    return f"{variant.name}_a{variant.alpha:g}_{profile.name}"


def final_model_path(folder, variant, profile) -> Path:
    """Where a study folder keeps its final model of `variant` (the held-out run of seed 0 saves it there)."""
    return Path(folder) / "final" / f"{model_stem(variant, profile)}.keras"


def content_hash(dataset) -> str:
    """SHA-256 of the ids and the image and mask bytes of every record."""
    digest = hashlib.sha256()
    hash_record_files(digest, dataset.records)
    return digest.hexdigest()


def cross_validated(results_root, data, profile, weights, variant) -> dict | None:
    """Mean and sd of the metrics of the same configuration's CV runs, if a result folder holds them."""
    if results_root is None:
        return None
    return cv_summary(study_folder(results_root, data, profile, weights, create=False), variant)


def cv_summary(folder, variant) -> dict:
    """Mean and sd of the metrics of `variant`'s CV runs in a study folder (held-out runs left out)."""
    folder = Path(folder)
    runs = [
        r
        for r in (load_results(folder) if folder.is_dir() else [])
        if r["run"]["family"] == family(variant.name) and float(r["run"]["alpha"]) == float(variant.alpha)
    ]
    if not runs:
        return {"folder": str(folder), "runs": 0}
    keys = sorted({k for r in runs for k, v in r["metrics"].items() if isinstance(v, (int, float))})
    summary = {}
    for key in keys:
        values = np.array([r["metrics"].get(key) for r in runs], dtype=float)
        values = values[np.isfinite(values)]
        if len(values):
            summary[key] = {"mean": float(values.mean()), "sd": float(values.std(ddof=1)) if len(values) > 1 else 0.0}
    return {"folder": str(folder), "runs": len(runs), "metrics": summary}


def save_model_atomic(model, path: Path) -> None:
    """Save a model's architecture and weights through a temporary file renamed into place.

    The trained model is copied into a fresh, uncompiled one first: a user needs the weights
    and the BatchNorm statistics, not the optimizer's momentum (which would double the file:
    115 MB instead of 57 MB for two DenseNet-121 streams) or a compiled loss to deserialise.
    """
    plain = type(model).from_config(model.get_config())
    plain.set_weights(model.get_weights())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp.keras")
    os.close(fd)
    try:
        plain.save(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a model is meant to be shared
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def model_card(*, variant, profile, data, split, fitted, optimizer, cv, seconds, model_file) -> dict:
    """What a user of the saved model needs to know, as a JSON-able dict."""
    summary = data.summary()
    return {
        "model_file": model_file,
        "intended_use": INTENDED_USE,
        "variant": variant.to_dict(),
        "inputs": {
            "streams": list(variant.streams),
            "patch_size": fitted.size,
            "margin": profile.margin,
            "crop": profile.crop,
            "how": "greyscale image and lesion mask (lesion > 127) -> OA and HS patches (breastnet.data.patches), "
            "replicated to 3 channels and passed through the backbone's preprocess_input",
        },
        "outputs": {
            "malignancy": "softmax over (benign, malignant); the class is malignant when p >= 0.5",
            **({"birads": "BI-RADS score regression (breastnet.data.birads score table)"} if variant.multitask else {}),
        },
        "data": {
            "name": data.name,
            "synthetic": data.synthetic,
            "images": summary["images"],
            "patients": summary["patients"],
            "benign": summary["benign"],
            "malignant": summary["malignant"],
            "birads": summary["birads"],
            "content_sha256": content_hash(data),
            "citation": data.citation,
            "n_train": len(split.train),
            "n_val": len(split.val),
        },
        "training": {
            "profile": profile.to_dict(),
            "weights": fitted.weights_used,
            "optimizer": optimizer,
            "bn_stats": profile.bn_stats,
            "bn_momentum": profile.bn_momentum,
            "early_stopping": early_stopping_record(profile, len(split.val) > 0),
            "epochs_run": len(fitted.history.get("loss", [])),
            "best_epoch": fitted.best_epoch,
            "history": {k: [float(v) for v in vals] for k, vals in fitted.history.items()},
            "seconds": seconds,
        },
        "cross_validation": cv,
        "provenance": provenance(),
    }


def card_markdown(card: dict) -> str:
    """A short human-readable rendering of a model card."""
    v, d, t = card["variant"], card["data"], card["training"]
    lines = [
        f"# Model card: {v['name']} (alpha {v['alpha']:g})",
        "",
        f"**{card['intended_use']}**",
        "",
        f"- File: `{card['model_file']}`; load with `import breastnet.model.network` then "
        "`keras.saving.load_model(path, safe_mode=True)`, or `python -m breastnet predict --model ...`.",
        f"- Streams {', '.join(v['streams']).upper()}; tasks {', '.join(v['tasks'])}; backbone {v['backbone']}; "
        f"patches {card['inputs']['patch_size']} px, margin {card['inputs']['margin']:g}, "
        f"crop {card['inputs']['crop']}.",
        f"- Started from: {t['weights']}. Profile `{t['profile']['name']}`; {t['optimizer']}; "
        f"{t['epochs_run']} epochs, "
        + (f"best (restored) epoch {t['best_epoch']}" if t["best_epoch"] else "the last epoch's weights kept")
        + f"; BatchNorm statistics {t['bn_stats']}.",
        f"- Trained on {d['name']}{' (SYNTHETIC phantoms, not patients)' if d['synthetic'] else ''}: "
        f"{d['images']} images of {d['patients']} patients ({d['benign']} benign, {d['malignant']} malignant), "
        + (
            f"{d['n_train']} for training and {d['n_val']} for early stopping"
            if d["n_val"]
            else f"all {d['n_train']} for training"
        )
        + f"; content SHA-256 `{d['content_sha256'][:16]}...`.",
    ]
    if d.get("citation"):
        lines.append(f"- Data citation: {d['citation']}")
    cv = card.get("cross_validation")
    if cv is None:
        lines.append("- Cross-validation: no result folder was given.")
    elif not cv.get("runs"):
        lines.append(f"- Cross-validation: no run of this configuration in {cv['folder']}.")
    else:
        shown = [
            k for k in ("auc", "accuracy", "sensitivity", "specificity", "balanced_accuracy") if k in cv["metrics"]
        ]
        cells = ", ".join(f"{k} {cv['metrics'][k]['mean']:.3f} ± {cv['metrics'][k]['sd']:.3f}" for k in shown)
        lines.append(f"- Cross-validated, same configuration ({cv['runs']} runs): {cells}.")
    p = card["provenance"]
    lines.append(
        f"- Software: Keras {p['versions']['keras']} on {p['backend']}; breastnet {p['versions']['breastnet']}."
    )
    return "\n".join(lines) + "\n"


def write_card(model_path: Path, card: dict) -> tuple[Path, Path]:
    """Write `<stem>.card.json` and `<stem>.card.md` beside the model, atomically."""
    json_path = model_path.with_suffix(".card.json")
    md_path = model_path.with_suffix(".card.md")
    _atomic_write_bytes(json_path, json.dumps(card, indent=1).encode())
    _atomic_write_bytes(md_path, card_markdown(card).encode())
    return json_path, md_path


def read_card(model_path) -> dict | None:
    """The model card beside a model file, or None."""
    path = Path(model_path).with_suffix(".card.json")
    return json.loads(path.read_text()) if path.is_file() else None
