"""Many runs, resumable: plan them, skip the finished ones, train the rest.

A run is identified by (dataset, profile settings, backend, weights) -> a study
folder, and by (family, alpha, repeat, fold) -> a file in it. E-DMTL at
alpha 0.25 and DMTL's alpha spectrum point 0.25 are the same run and share
one file. Every run's JSON is written atomically as soon as it finishes, so a
sweep stopped at any moment resumes where it was. With `workers` > 1, whole
architectures are trained in parallel processes that share the CPU cores.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import time
from dataclasses import dataclass, replace
from pathlib import Path

import keras
import numpy as np

from .checks import check_dataset
from .floor import run_floor
from .models import input_size
from .problems import raise_if_fatal
from .results import _atomic_write_bytes, valid_result, write_result
from .runtime import limit_cpu_threads
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


def run_cost(spec: RunSpec) -> int:
    """Relative training work of a run: streams x training patch sets (Han's margins)."""
    return len(spec.variant.streams) * max(1, len(spec.variant.margins))


def architecture_blocks(runs, architecture_key) -> list[list[RunSpec]]:
    """The runs cut into one list per architecture (order kept), the most work first.

    A block is what one worker process trains: its architecture is traced once, there.

    Args:
        runs: RunSpecs in `order_for_reuse` order.
        architecture_key: variant -> what makes two variants share a compiled model.
    """
    blocks: dict = {}
    for spec in runs:
        blocks.setdefault(architecture_key(spec.variant), []).append(spec)
    return sorted(blocks.values(), key=lambda block: -sum(run_cost(spec) for spec in block))


@dataclass(frozen=True)
class SweepJob:
    """Everything a process needs to train runs of one study and write their files."""

    data: object
    profile: object
    weights: object
    folder: Path
    splits: dict  # (fold, repeat) -> Split
    cache_dir: object = None


def _train_one(job, trainer, store, spec) -> dict:
    """Train `spec` and write its result file; returns the result."""
    split = job.splits[(spec.fold, spec.repeat)]
    if spec.variant.learned:
        result, features = trainer.run(job.data, store, split, spec.variant, spec.seed)
    else:
        result, features = run_floor(job.data, split, spec.variant, spec.seed, job.profile, job.cache_dir)
    write_result(job.folder / spec.filename, result, features)
    return result


def _progress_line(spec, result, note="") -> str:
    m = result["metrics"]
    return (f"{spec.label()}: accuracy {m['accuracy']:.3f}, auc {_fmt(m['auc'])} "
            f"({result['training']['seconds']['total']:.0f} s{note})")


def _worker(index, job, threads, queue):
    """A worker process: take architecture blocks off `queue` until a None, train them."""
    threads_done = limit_cpu_threads(threads)
    trainer = Trainer(job.profile, weights=job.weights, verbose=0)
    trainer.cpu_threads_ = threads_done  # goes into each result's provenance
    store = PatchStore(job.data, cache_dir=job.cache_dir, progress=False)
    while (block := queue.get()) is not None:
        for spec in block:
            result = _train_one(job, trainer, store, spec)
            print(f"[worker {index}] {_progress_line(spec, result)}", flush=True)


def train_in_workers(job, todo, workers, architecture_key, log=print):
    """Train `todo` in `workers` processes that share the CPU cores, one architecture per block.

    Each process runs its kernels on cores // workers threads and pulls the next block
    (largest first) when it is free, so each architecture is still traced once. Every run
    is seeded by itself, so it does not matter which process trains it. The thread count
    does matter, through the order of floating-point sums: on short, noisy runs (the `cpu`
    profile) that is enough to change where early stopping stops. Each result records
    its threads.

    Args:
        job: a `SweepJob`.
        todo: the RunSpecs to train, in `order_for_reuse` order.
        workers: number of processes.
        architecture_key: the trainer's `architecture_key`.
        log: where progress lines of this process go (workers print theirs).

    Raises:
        RuntimeError: a worker failed; the runs finished by then are kept on disk.
    """
    blocks = architecture_blocks(todo, architecture_key)
    workers = min(workers, len(blocks))
    threads = max(1, (multiprocessing.cpu_count() or 1) // workers)
    ctx = multiprocessing.get_context("spawn")  # a fresh backend per process, no forked threads
    queue = ctx.Queue()
    for block in blocks:
        queue.put(block)
    for _ in range(workers):
        queue.put(None)
    log(f"{len(todo)} runs in {len(blocks)} architecture blocks over {workers} worker processes "
        f"x {threads} CPU threads")
    procs = [ctx.Process(target=_worker, args=(k, job, threads, queue), name=f"breastnet-worker-{k}")
             for k in range(workers)]
    try:
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join()
    finally:
        for proc in procs:  # e.g. Ctrl-C in the parent: stop the workers too
            if proc.is_alive():
                proc.terminate()
                proc.join()
    failed = [p.name for p in procs if p.exitcode != 0]
    if failed:
        raise RuntimeError(f"sweep worker(s) {', '.join(failed)} failed (see their traceback above); "
                           f"finished runs are saved in {job.folder} and a re-run resumes from them")


def run_sweep(dataset, profile, out, variants=None, alphas=None, spectra=True, scheme="cv",
              weights="profile", cache_dir=None, verbose=2, log=print, workers=1):
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
        workers: processes that train at once (see `train_in_workers`); 1 trains here.

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
    job = SweepJob(data, profile, trainer.weights, folder, {(s.fold, s.repeat): s for s in splits}, cache_dir)
    store = PatchStore(data, cache_dir=cache_dir)
    todo = [spec for spec in runs if valid_result(folder / spec.filename) is None]
    log(f"{data.name}: {len(data)} images; profile {profile.name}; {len(runs)} runs planned, "
        f"{len(runs) - len(todo)} already done, {len(todo)} to train -> {folder}")
    for spec in [spec for spec in todo if not spec.variant.learned]:  # seconds each: here, first
        log(_progress_line(spec, _train_one(job, trainer, None, spec)))
    todo = order_for_reuse([spec for spec in todo if spec.variant.learned], trainer.architecture_key)
    if workers > 1 and len(todo) > 1:
        for spec in todo:  # patches are cut once, here, not by every worker at once
            for margin in spec.variant.margins or (profile.margin,):
                store.get(input_size(spec.variant, profile.size), margin, profile.crop)
        train_in_workers(job, todo, workers, trainer.architecture_key, log)
    else:
        bar = keras.utils.Progbar(len(todo), unit_name="run") if todo else None
        started = time.perf_counter()
        for n, spec in enumerate(todo, start=1):
            result = _train_one(job, trainer, store, spec)
            left = (time.perf_counter() - started) / n * (len(todo) - n) / 60
            log(f"\n[{n}/{len(todo)}] {_progress_line(spec, result, f'; about {left:.1f} min left')}")
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
