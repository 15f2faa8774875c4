"""Many runs, resumable: plan them (`breastnet.study.plan`), skip the finished ones, train the rest.

Every run's JSON is written atomically as soon as it finishes, so a sweep stopped
at any moment resumes where it was. With `workers` > 1, whole architectures are
trained in parallel processes that share the CPU cores; with `engine="ray"`, on Ray
actors (`breastnet.study.ray_engine`), on this machine or a cluster.
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import replace

from ..data.checks import check_dataset
from ..data.problems import raise_if_fatal
from ..model.backbones import input_size
from ..train.runtime import limit_cpu_threads
from ..train.trainer import Trainer
from .jobs import RunStores, SweepJob, progress_line, train_one
from .plan import architecture_blocks, finished_results, order_for_reuse, planned_heldout, planned_runs, study_folder


def _worker(index, job, threads, queue):
    """A worker process: take architecture blocks off `queue` until a None, train them."""
    threads_done = limit_cpu_threads(threads)
    trainer = Trainer(job.profile, weights=job.weights, verbose=0, cpu_threads=threads_done)
    stores = RunStores(job)
    while (block := queue.get()) is not None:
        for spec in block:
            result = train_one(job, trainer, stores, spec)
            print(f"[worker {index}] {progress_line(spec, result)}", flush=True)


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
    log(
        f"{len(todo)} runs in {len(blocks)} architecture blocks over {workers} worker processes x {threads} CPU threads"
    )
    procs = [
        ctx.Process(target=_worker, args=(k, job, threads, queue), name=f"breastnet-worker-{k}") for k in range(workers)
    ]
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
        raise RuntimeError(
            f"sweep worker(s) {', '.join(failed)} failed (see their traceback above); "
            f"finished runs are saved in {job.folder} and a re-run resumes from them"
        )


def _remove_stale_files(folder):
    """Remove the hidden temporary files of runs killed while writing (they are never read)."""
    for stale in [*folder.glob(".*.tmp"), *folder.glob("*/.*.tmp"), *folder.glob("*/.*.tmp.keras")]:
        stale.unlink()


def run_sweep(
    dataset,
    profile,
    out,
    variants=None,
    alphas=None,
    spectra=True,
    scheme="cv",
    weights="profile",
    cache_dir=None,
    verbose=2,
    log=print,
    workers=1,
    engine="local",
    ray_options=None,
    heldout=True,
):
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
            Only for the "local" engine.
        engine: "local" (this process, or `workers` local processes) or "ray"
            (`breastnet.study.ray_engine.train_on_ray`, on a local Ray or a cluster).
        ray_options: keyword arguments of `train_on_ray` (address, cpus_per_worker,
            gpus_per_worker, max_restarts, on_started).
        heldout: also train the held-out runs of these variants (`breastnet.study.heldout`)
            when the profile and the data have a held-out set.

    Returns:
        (folder, results): the study folder and the result dicts of all planned CV runs
        (the held-out runs' results: `load_results(folder, heldout=True)`, or a notebook's
        `Page.heldout_results`).
    """
    if engine not in ("local", "ray"):
        raise ValueError(f"engine must be 'local' or 'ray', not {engine!r}")
    data, splits, runs = planned_runs(dataset, profile, variants, alphas, spectra, scheme)
    # Read every image and mask now and refuse up front, before hours of training, not
    # at run 37; the warnings stay on the dataset and go into every result file.
    needs_birads = any(spec.variant.multitask for spec in runs)
    data = replace(data, problems=check_dataset(data, multitask=needs_birads))
    raise_if_fatal(data.problems, needs_birads=needs_birads, context=data.name)
    ho, ho_runs = (
        planned_heldout(dataset, data, profile, variants, alphas, spectra, cache_dir) if heldout else (None, [])
    )
    if ho is not None and ho_runs:  # the held-out images are read and checked up front too
        ho = replace(ho, data=replace(ho.data, problems=check_dataset(ho.data, multitask=needs_birads)))
        raise_if_fatal(ho.data.problems, needs_birads=needs_birads, context=ho.data.name)
    trainer = Trainer(profile, weights=weights, verbose=verbose)
    folder = study_folder(out, data, profile, trainer.weights)
    _remove_stale_files(folder)
    job = SweepJob(data, profile, trainer.weights, folder, {(s.fold, s.repeat): s for s in splits}, cache_dir, ho)
    stores = RunStores(job, progress=True)
    done = finished_results(folder, runs + ho_runs)
    todo = [spec for spec in runs + ho_runs if spec.filename not in done]
    held = f" and {len(ho_runs)} on the held-out set ({ho.summary()['images']} images)" if ho_runs else ""
    log(
        f"{data.name}: {len(data)} images; profile {profile.name}; {len(runs)} CV runs{held} planned, "
        f"{len(runs) + len(ho_runs) - len(todo)} already done, {len(todo)} to train -> {folder}"
    )
    for spec in [spec for spec in todo if not spec.variant.learned]:  # seconds each: here, first
        log(progress_line(spec, train_one(job, trainer, stores, spec)))
    todo = order_for_reuse([spec for spec in todo if spec.variant.learned], trainer.architecture_key)
    if todo and (engine == "ray" or workers > 1):
        for spec in todo:  # patches are cut once, here, not by every worker at once
            for margin in spec.variant.margins or (profile.margin,):
                stores.for_spec(spec).get(input_size(spec.variant, profile.size), margin, profile.crop)
    if engine == "ray" and todo:
        from .ray_engine import train_on_ray  # Ray is imported only when asked for

        train_on_ray(job, todo, trainer.architecture_key, log=log, **(ray_options or {}))
        _remove_stale_files(folder)  # a worker killed while writing leaves its .tmp
    elif workers > 1 and len(todo) > 1:
        train_in_workers(job, todo, workers, trainer.architecture_key, log)
    else:
        started = time.perf_counter()
        for n, spec in enumerate(todo, start=1):  # a line of its own per run, between Keras' epoch lines
            result = train_one(job, trainer, stores, spec)
            left = (time.perf_counter() - started) / n * (len(todo) - n) / 60
            log(f"[{n}/{len(todo)}] {progress_line(spec, result, f'; about {left:.1f} min left')}")
    return folder, list(finished_results(folder, runs).values())
