"""External validation of a study: final models of Table 1's two-stream rows and the floor on other data.

    python -m breastnet external --data STUDY --external OTHER --profile cpu --out results

For each two-stream row of Table 1 (DSTL, E-DSTL, DMTL, E-DMTL) a final model is trained
on the whole study dataset (`breastnet.study.final`) and evaluated on the external one
(`breastnet.study.apply.evaluate_external`); the classical floor is fitted on every study
image's descriptors and applied to the external images'. Everything lands in the study's
result folder, so a second build only reads it:

    <study folder>/final/<variant>_a<alpha>_<profile>.keras (+ .card.json, .card.md)
    <study folder>/external/<external name>-<content hash>/<model stem>.json (+ .features.npz)

A model is reused while its card's data hash and profile match; an external result while
it names the model file's current hash.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from ..data.checks import check_dataset
from ..data.descriptors import descriptor_matrix
from ..data.problems import raise_if_fatal
from ..model.variants import TABLE1, get_variant
from ..train.floor import WEIGHTS as FLOOR_WEIGHTS
from ..train.floor import fit_floor, floor_config, floor_probability
from ..train.trainer import Trainer
from .apply import checked_external, evaluate_external, external_result, file_sha256
from .final import content_hash, final_model_path, fit_final, read_card
from .plan import study_dataset, study_folder
from .results import valid_result, write_result

#: The rows validated externally: Table 1's two-stream networks, and the floor.
EXTERNAL_ROWS = tuple(v for v in TABLE1 if set(get_variant(v).streams) == {"oa", "hs"}) + ("Descriptors",)


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
