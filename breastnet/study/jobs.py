"""One run of a sweep, as every engine trains it: train, write its file, say what it gave.

The engines (`breastnet.study.sweep`: this process or a local process pool;
`breastnet.study.ray_engine`: Ray actors) differ only in where `train_one` runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..train.floor import run_floor
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


def train_one(job, trainer, store, spec) -> dict:
    """Train `spec` and write its result file (atomically); returns the result."""
    split = job.splits[(spec.fold, spec.repeat)]
    if spec.variant.learned:
        result, features = trainer.run(job.data, store, split, spec.variant, spec.seed)
    else:
        result, features = run_floor(job.data, split, spec.variant, spec.seed, job.profile, job.cache_dir)
    write_result(job.folder / spec.filename, result, features)
    return result


def is_finished(job, spec) -> bool:
    """Whether `spec` has a valid result file (e.g. written before a worker was restarted)."""
    return valid_result(job.folder / spec.filename) is not None


def progress_line(spec, result, note="") -> str:
    m = result["metrics"]
    return (
        f"{spec.label()}: accuracy {m['accuracy']:.3f}, auc {m['auc']:.3f} "
        f"({result['training']['seconds']['total']:.0f} s{note})"
    )
