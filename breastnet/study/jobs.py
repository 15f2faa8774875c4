"""One run of a sweep, as every engine trains it: train, write its file, say what it gave.

The engines (`breastnet.study.sweep`: this process or a local process pool;
`breastnet.study.ray_engine`: Ray actors) differ only in where `train_one` runs.
A cross-validation run trains on its fold's training part and tests on its test fold; a
held-out run (`breastnet.study.heldout`) trains on the whole study subset and tests on the
held-out images, and its seed-0 network is saved as the study's final model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..train.batches import PatchStore
from ..train.floor import run_floor
from ..train.optimizer import optimizer_description
from .results import valid_result, write_result


@dataclass(frozen=True)
class SweepJob:
    """Everything a process needs to train runs of one study and write their files."""

    data: object
    profile: object
    weights: object
    folder: Path
    splits: dict  # (fold, repeat) -> Split
    cache_dir: object = None
    heldout: object = None  # the study's `HeldOut`, or None


class RunStores:
    """The patch stores of one process: the study subset's, and the held-out set's when first needed."""

    def __init__(self, job: SweepJob, progress: bool = False):
        self.job, self.progress = job, progress
        self.study = PatchStore(job.data, cache_dir=job.cache_dir, progress=progress)
        self._heldout = None

    @property
    def heldout(self) -> PatchStore:
        if self._heldout is None:
            self._heldout = PatchStore(self.job.heldout.data, cache_dir=self.job.cache_dir, progress=self.progress)
        return self._heldout

    def for_spec(self, spec) -> PatchStore:
        return self.study if spec.heldout is None else self.heldout


def train_one(job, trainer, stores: RunStores, spec) -> dict:
    """Train `spec` and write its result file (atomically); returns the result."""
    if spec.heldout is not None:
        return _train_heldout(job, trainer, stores.heldout, spec)
    split = job.splits[(spec.fold, spec.repeat)]
    if spec.variant.learned:
        result, features = trainer.run(job.data, stores.study, split, spec.variant, spec.seed)
    else:
        result, features = run_floor(job.data, split, spec.variant, spec.seed, job.profile, job.cache_dir)
    write_result(job.folder / spec.filename, result, features)
    return result


def _train_heldout(job, trainer, store, spec) -> dict:
    """A held-out run: the whole study subset trains, the held-out images test (see `breastnet.study.heldout`).

    Its result file keeps the per-image predictions but not the penultimate features of the
    held-out images (about 10 MB a run; the feature spectra use the CV runs' features).
    """
    heldout, variant = job.heldout, spec.variant
    if variant.learned:
        fitted = trainer.fit(heldout.data, store, heldout.split, variant, spec.seed)
        result, features = trainer.test(fitted, heldout.data, heldout.split, variant, spec.seed)
        if spec.repeat == 0 and _saved_as_final(variant):
            _save_final(job, spec, fitted, trainer)
    else:
        result, features = run_floor(heldout.data, heldout.split, variant, spec.seed, job.profile, job.cache_dir)
    result["run"].update(kind="heldout", heldout=heldout.name, seed_index=int(spec.repeat))
    result["dataset"]["heldout"] = heldout.summary()
    result["dataset"]["study"] = job.data.name
    write_result(job.folder / spec.filename, result, np.asarray(features)[:0])
    return result


def _saved_as_final(variant) -> bool:
    """The rows whose seed-0 held-out network is a final model: those `external` tests."""
    from .final import FINAL_ROWS

    return variant.name in FINAL_ROWS


def _save_final(job, spec, fitted, trainer) -> None:
    """Save a held-out run's network as the study's final model, with its model card."""
    from .final import cv_summary, final_model_path, model_card, save_model_atomic, write_card

    profile, variant = job.profile, spec.variant
    path = final_model_path(job.folder, variant, profile)
    save_model_atomic(fitted.model, path)
    card = model_card(
        variant=variant,
        profile=profile,
        data=job.data,
        split=job.heldout.split,
        fitted=fitted,
        optimizer=optimizer_description(
            profile.learning_rate, profile.weight_ema, profile.optimizer, profile.lr_schedule
        ),
        cv=cv_summary(job.folder, variant),
        seconds=time.perf_counter() - fitted.started,
        model_file=path.name,
    )
    card["heldout_result"] = spec.filename
    write_card(path, card)


def is_finished(job, spec) -> bool:
    """Whether `spec` has a valid result file (e.g. written before a worker was restarted)."""
    return valid_result(job.folder / spec.filename) is not None


def progress_line(spec, result, note="") -> str:
    m = result["metrics"]
    return (
        f"{spec.label()}: accuracy {m['accuracy']:.3f}, auc {m['auc']:.3f} "
        f"({result['training']['seconds']['total']:.0f} s{note})"
    )
