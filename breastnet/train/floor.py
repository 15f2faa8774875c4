"""One run of the classical floor: hand-crafted lesion descriptors and a logistic regression.

The floor is a reference row of Table 1 that is not in the paper: the BI-RADS lexicon's
shape, margin, echo and shadowing descriptors of each lesion (`breastnet.data.descriptors`),
standardised and fed to scikit-learn's logistic regression, trained on a run's training
part and tested on its test part: the same splits, the same result files (metrics,
per-image predictions) as the networks. It takes seconds, so every profile runs it. The
inner validation part is not needed (nothing is early-stopped) and is trained on.
Its "features" file holds the standardised descriptors of the test images.
"""

from __future__ import annotations

import time

import numpy as np

from ..data.descriptors import DESCRIPTOR_NAMES, descriptor_matrix, descriptor_pipeline
from ..data.problems import WARNING, raise_if_fatal
from .result import RunIdentity, dataset_description, score_test_images
from .runtime import provenance

WEIGHTS = "none (hand-crafted descriptors)"


def fit_floor(x, y, seed: int):
    """The descriptor pipeline fitted on descriptor rows `x` with labels `y`."""
    return descriptor_pipeline(seed).fit(x, y)


def floor_probability(pipeline, x) -> np.ndarray:
    """p(malignant) of descriptor rows `x`."""
    return pipeline.predict_proba(x)[:, list(pipeline.classes_).index(1)]


def floor_config(pipeline) -> dict:
    """What a result file records of a fitted floor: the model, its inputs and coefficients."""
    logreg = pipeline.named_steps["logreg"]
    return {
        "model": "Pipeline(StandardScaler, LogisticRegression(C=1, L2))",
        "descriptors": list(DESCRIPTOR_NAMES),
        "coefficients": dict(zip(DESCRIPTOR_NAMES, logreg.coef_[0].tolist(), strict=True)),
    }


def run_floor(dataset, split, variant, seed: int, profile, cache_dir=None) -> tuple[dict, np.ndarray]:
    """Fit the descriptor pipeline on a split's training (and validation) images, test it.

    Args:
        dataset: the `Dataset` the split indexes.
        split: a `breastnet.data.splits.Split`.
        variant: the "Descriptors" variant.
        seed: seed of the logistic regression.
        profile: the study's profile (recorded).
        cache_dir: descriptor cache folder.

    Returns:
        (result, features) in the schema of `breastnet.train.trainer.Trainer.run`.
    """
    raise_if_fatal(dataset.problems, needs_birads=False, context=dataset.name)
    start = time.perf_counter()
    x = descriptor_matrix(dataset, cache_dir=cache_dir)
    t_describe = time.perf_counter() - start
    train = np.concatenate([split.train, split.val])
    y = np.array([r.pathology for r in dataset.records])
    pipeline = fit_floor(x[train], y[train], seed)
    p_malignant = floor_probability(pipeline, x[split.test])
    metrics, predictions = score_test_images([dataset.records[i] for i in split.test], p_malignant)
    result = {
        "run": RunIdentity(variant, split, seed, profile, dataset).to_dict(),
        "config": {
            "variant": variant.to_dict(),
            "profile": profile.to_dict(),
            **floor_config(pipeline),
            "trained_on": "training and inner validation parts",
        },
        "dataset": dataset_description(dataset, split),
        "weights": WEIGHTS,
        "warnings": [p.to_dict() for p in dataset.problems if p.severity == WARNING],
        "training": {
            "epochs_run": None,
            "best_epoch": None,
            "history": {},
            "seconds": {"descriptors": t_describe, "total": time.perf_counter() - start},
        },
        "metrics": metrics,
        "provenance": provenance(),
        "predictions": predictions,
    }
    return result, pipeline.named_steps["scale"].transform(x[split.test])
