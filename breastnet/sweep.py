"""Many runs, resumable: plan them, skip the finished ones, train the rest.

A run is identified by (dataset, profile settings, backend, weights) -> a study
folder, and by (family, alpha, repeat, fold) -> a file in it. E-DMTL at
alpha 0.25 and DMTL's alpha spectrum point 0.25 are the same run and share
one file. Every run's JSON is written atomically as soon as it finishes, so a
sweep stopped at any moment resumes where it was.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

import keras
import numpy as np

from .checks import check_dataset
from .problems import raise_if_fatal
from .results import _atomic_write_bytes, valid_result, write_result
from .splits import cv_splits, limited_subset, official_splits
from .training import PatchStore, Trainer
from .variants import family, get_variant


@dataclass(frozen=True)
class RunSpec:
    """One run to do: variant (with its alpha), fold, repeat, seed."""

    variant: object
    fold: int
    repeat: int
    seed: int

    @property
    def filename(self) -> str:
        return f"{family(self.variant.name)}_a{self.variant.alpha:g}_r{self.repeat}_f{self.fold}.json"

    def label(self) -> str:
        return f"{self.variant.name} alpha={self.variant.alpha:g} repeat {self.repeat} fold {self.fold}"


def study_dataset(dataset, profile):
    """The data a profile trains on: the limited-data subset when the profile asks for one."""
    if profile.subset is None:
        return dataset
    n_benign, n_malignant = profile.subset
    summary = dataset.summary()
    if summary["benign"] == n_benign and summary["malignant"] == n_malignant:
        return dataset
    return limited_subset(dataset, n_benign, n_malignant, seed=profile.seed)


def study_folder(out, dataset, profile, weights) -> Path:
    """Folder of a study: dataset name / profile name + hash of everything that changes numbers."""
    knobs = profile.to_dict()
    for k in ("variants", "alpha_small", "alpha_large", "spectrum_variants", "max_folds"):
        knobs.pop(k)  # these choose which runs exist, not what a run computes
    ident = {"profile": knobs, "weights": str(weights), "backend": keras.backend.backend(),
             "dataset": dataset.name, "ids": hashlib.sha1("|".join(r.id for r in dataset.records).encode()).hexdigest()}
    digest = hashlib.sha1(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:8]
    folder = Path(out) / dataset.name / f"{profile.name}-{digest}"
    folder.mkdir(parents=True, exist_ok=True)
    info = folder / "study.json"
    if not info.exists():
        _atomic_write_bytes(info, json.dumps(ident, indent=1).encode())
    return folder


def plan_runs(profile, variants=None, alphas=None, spectra=True, splits=None) -> list[RunSpec]:
    """The runs of a study, without duplicates.

    Args:
        profile: the profile.
        variants: variant names (default: the profile's Table 1 rows).
        alphas: if given, every variant is run at each of these alphas instead of its own.
        spectra: also plan the alpha spectra of `profile.spectrum_variants`.
        splits: the Split list (gives folds and repeats).
    """
    wanted = []
    for name in variants or profile.variants:
        for alpha in (alphas if alphas is not None else [None]):
            wanted.append(get_variant(name, alpha))
    if spectra and alphas is None:
        for name in profile.spectrum_variants:
            wanted.extend(get_variant(name, a) for a in profile.alphas)
    if profile.max_folds is not None:
        splits = [s for s in splits if s.fold < profile.max_folds]
    runs, seen = [], set()
    for variant in wanted:
        for split in splits:
            spec = RunSpec(variant, split.fold, split.repeat, profile.seed + 1000 * split.repeat + split.fold)
            if spec.filename not in seen:
                seen.add(spec.filename)
                runs.append(spec)
    return runs


def order_for_reuse(runs, architecture_key) -> list[RunSpec]:
    """Runs grouped by architecture, then by (repeat, fold), keeping the plan's order otherwise.

    Within one architecture a run's initial weights depend only on its seed, i.e. on its
    (repeat, fold): in this order the trainer builds each seed's initial weights once
    and keeps only the last ones.

    Args:
        runs: RunSpecs in plan order.
        architecture_key: variant -> what makes two variants share a compiled model.
    """
    first_seen: dict = {}
    for spec in runs:
        first_seen.setdefault(architecture_key(spec.variant), len(first_seen))
    return sorted(runs, key=lambda spec: (first_seen[architecture_key(spec.variant)], spec.repeat, spec.fold))


def make_splits(dataset, profile, scheme: str = "cv"):
    """CV splits of a profile: "cv" (repeated StratifiedGroupKFold) or "official" (BUS-BRA's)."""
    if scheme == "official":
        return official_splits(dataset, profile.folds, seed=profile.seed, val_fraction=profile.val_fraction)
    return cv_splits(dataset.records, profile.folds, profile.repeats, profile.seed, profile.val_fraction)


def run_sweep(dataset, profile, out, variants=None, alphas=None, spectra=True, scheme="cv",
              weights="profile", cache_dir=None, verbose=2, log=print):
    """Train every planned run that has no valid result yet.

    Args:
        dataset: the full dataset (the profile's subset is taken here).
        profile: a Profile.
        out: results root folder.
        variants, alphas, spectra: see `plan_runs`.
        scheme: "cv" or "official" splits.
        weights: overrides the profile's weights.
        cache_dir: patch cache folder.
        verbose: Keras fit verbosity.
        log: where progress lines go.

    Returns:
        (folder, results): the study folder and the result dicts of all planned runs.
    """
    data = study_dataset(dataset, profile)
    splits = make_splits(data, profile, scheme)
    runs = plan_runs(profile, variants, alphas, spectra, splits)
    # Read every image and mask now and refuse up front, before hours of training, not
    # at run 37; the warnings stay on the dataset and go into every result file.
    needs_birads = any(spec.variant.multitask for spec in runs)
    data = replace(data, problems=check_dataset(data, multitask=needs_birads))
    raise_if_fatal(data.problems, needs_birads=needs_birads, context=data.name)
    trainer = Trainer(profile, weights=weights, verbose=verbose)
    folder = study_folder(out, data, profile, trainer.weights)
    for stale in folder.glob(".*.tmp"):  # left by a run killed while writing; never read
        stale.unlink()
    by_key = {(s.fold, s.repeat): s for s in splits}
    store = PatchStore(data, cache_dir=cache_dir)
    todo = [spec for spec in runs if valid_result(folder / spec.filename) is None]
    todo = order_for_reuse(todo, trainer.architecture_key)
    log(f"{data.name}: {len(data)} images; profile {profile.name}; {len(runs)} runs planned, "
        f"{len(runs) - len(todo)} already done, {len(todo)} to train -> {folder}")
    bar = keras.utils.Progbar(len(todo), unit_name="run") if todo else None
    started = time.perf_counter()
    for n, spec in enumerate(todo, start=1):
        result, features = trainer.run(data, store, by_key[(spec.fold, spec.repeat)], spec.variant, spec.seed)
        write_result(folder / spec.filename, result, features)
        elapsed = time.perf_counter() - started
        m = result["metrics"]
        log(f"\n[{n}/{len(todo)}] {spec.label()}: accuracy {m['accuracy']:.3f}, auc {_fmt(m['auc'])} "
            f"({result['training']['seconds']['total']:.0f} s; about {elapsed / n * (len(todo) - n) / 60:.1f} min left)")
        bar.update(n)
    results = []
    for spec in runs:
        result = valid_result(folder / spec.filename)
        if result is not None:
            result["path"] = str(folder / spec.filename)
            results.append(result)
    return folder, results


def _fmt(x):
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def summarize(results, keys=("accuracy", "sensitivity", "specificity", "auc", "rmse", "cc")) -> str:
    """A text table: mean +- sd over runs of each (variant, alpha)."""
    groups: dict = {}
    for r in results:
        groups.setdefault((r["run"]["family"], r["run"]["alpha"]), []).append(r["metrics"])
    lines = [f"{'variant':<12}{'alpha':>7}{'runs':>6}" + "".join(f"{k:>16}" for k in keys)]
    for (fam, alpha), ms in sorted(groups.items()):
        name = fam if alpha == 0 or fam not in ("DSSL", "DSTL", "DMTL") else f"E-{fam}"
        cells = []
        for k in keys:
            vals = np.array([m.get(k) for m in ms if m.get(k) is not None], dtype=float)
            vals = vals[~np.isnan(vals)] if len(vals) else vals
            cells.append(f"{vals.mean():.3f} +- {vals.std(ddof=1) if len(vals) > 1 else 0:.3f}" if len(vals) else "-")
        lines.append(f"{name:<12}{alpha:>7g}{len(ms):>6}" + "".join(f"{c:>16}" for c in cells))
    return "\n".join(lines)
