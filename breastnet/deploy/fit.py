"""Fit a final model: one variant trained on the whole study dataset, saved with its model card.

    python -m breastnet fit --data PATH --variant E-DMTL --profile cpu --out models/

The profile's subset rule applies (the limited-data subset of the `cpu` and `paper`
profiles); a patient-grouped inner validation part (`profile.val_fraction`) drives early
stopping when the profile has a `patience` (without one, as in the `cpu` profile, every image
trains and the last epoch's weights are saved), and the BatchNorm statistics saved with the
model are the ones evaluation uses (precise ones, re-estimated from the training images,
when the profile says so). The file and its card: `breastnet.study.final`.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..data.checks import check_dataset
from ..data.problems import raise_if_fatal
from ..data.splits import Split, inner_validation
from ..study.final import cross_validated, model_card, model_stem, save_model_atomic, write_card
from ..study.plan import study_dataset
from ..train.batches import PatchStore
from ..train.optimizer import optimizer_description
from ..train.trainer import Trainer


def fit_final(
    dataset,
    profile,
    variant_name,
    out,
    alpha=None,
    results=None,
    weights="profile",
    verbose=0,
    log=print,
    trainer=None,
) -> Path:
    """Train a variant on the whole study dataset and write `<stem>.keras` and its model card.

    Args:
        dataset: the full dataset (the profile's subset is taken here).
        profile: a Profile.
        variant_name: a Table 1 row with a network (not the descriptor floor).
        out: folder of the model and its card.
        alpha: overrides the variant's alpha.
        results: a results root (as for `sweep`) whose CV runs of the same configuration go
            into the card; None: the card says none were given.
        weights: overrides the profile's weights.
        verbose: Keras fit verbosity.
        log: where progress lines go.
        trainer: a `Trainer` of this profile to reuse (several final models: each
            architecture is traced once); None: a new one.

    Returns:
        The path of the saved model.
    """
    variant = profile.variant(variant_name, alpha)
    if not variant.learned:
        raise ValueError(f"{variant_name} is not a network: there is no Keras model to save")
    data = study_dataset(dataset, profile)
    data = replace(data, problems=check_dataset(data, multitask=variant.multitask))
    raise_if_fatal(data.problems, needs_birads=variant.multitask, context=data.name)
    trainer = trainer or Trainer(profile, weights=weights, verbose=verbose)
    # Without early stopping (`patience` None) nothing needs holding out: every image trains.
    val_fraction = profile.val_fraction if profile.patience is not None else 0.0
    train, val = inner_validation(data.records, np.arange(len(data)), val_fraction, profile.seed)
    split = Split(0, 0, train, val, np.array([], dtype=np.int64))
    log(
        f"{variant.name} (alpha {variant.alpha:g}) on {data.name}: {len(train)} training and {len(val)} "
        f"validation images, profile {profile.name}"
    )
    started = time.perf_counter()
    fitted = trainer.fit(data, PatchStore(data), split, variant, seed=profile.seed)
    seconds = time.perf_counter() - started
    path = Path(out) / f"{model_stem(variant, profile)}.keras"
    save_model_atomic(fitted.model, path)
    card = model_card(
        variant=variant,
        profile=profile,
        data=data,
        split=split,
        fitted=fitted,
        optimizer=optimizer_description(
            profile.learning_rate, profile.weight_ema, profile.optimizer, profile.lr_schedule
        ),
        cv=cross_validated(results, data, profile, trainer.weights, variant),
        seconds=seconds,
        model_file=path.name,
    )
    write_card(path, card)
    log(f"saved {path} ({path.stat().st_size / 1e6:.1f} MB) and its model card, in {seconds / 60:.1f} min")
    return path
