"""Ray as the engine of many runs: one warm `Trainer` per actor, blocks by cost, Ray's retries.

Each actor is a process holding one `Trainer` (and so its compiled models) and a
`PatchStore`. It is handed whole architecture blocks (`breastnet.study.plan.
architecture_blocks`), the most work first, and trains their runs one after another,
so each architecture is traced once per actor, as with the local process pool. Every
result goes through the same atomic writer into the same study folder; on a cluster
that folder must be on a filesystem every node sees (README, "Many runs").

A worker that dies (killed, out of memory, a node lost) is restarted by Ray, which
then retries the block it was training (`max_restarts`, `max_task_retries`). The
retried block skips every run whose result file is already valid, so no finished run
is trained twice; a file half-written by the dead worker is a hidden `.*.tmp` that is
never read and is removed at the end of the sweep.

Ray is imported here only: the rest of the package runs without it.
"""

from __future__ import annotations

import os

import keras

from ..train.runtime import limit_cpu_threads
from ..train.trainer import Trainer
from .jobs import RunStores, is_finished, progress_line, train_one
from .plan import architecture_blocks

# Object store of a Ray started here: the sweep passes only run descriptions through it
# (patches are read from the cache by each actor), so Ray's default (30 % of RAM) is waste.
LOCAL_OBJECT_STORE_BYTES = 256 * 1024**2


class BlockTrainer:
    """A Ray actor: a `Trainer` kept warm over the blocks it is given.

    Args:
        job: the `SweepJob`.
        threads: CPU threads of this actor's kernels (its `num_cpus`).
    """

    def __init__(self, job, threads: int):
        self.job = job
        done = limit_cpu_threads(threads)
        self.trainer = Trainer(job.profile, weights=job.weights, verbose=0, cpu_threads=done)
        self.stores = RunStores(job)

    def pid(self) -> int:
        return os.getpid()

    def train(self, block) -> list[str]:
        """Train the unfinished runs of `block`; returns their progress lines."""
        lines = []
        for spec in block:
            if is_finished(self.job, spec):  # e.g. trained before this actor was restarted
                continue
            line = progress_line(spec, train_one(self.job, self.trainer, self.stores, spec))
            print(line, flush=True)  # Ray forwards it to the driver, prefixed with the actor
            lines.append(line)
        return lines


def connect(address=None, num_cpus=None):
    """Join the Ray cluster at `address`, or start a local one; returns whether it was started here.

    A local Ray gets no dashboard, no usage statistics and a small object store; the
    workers of either get this process's Keras backend, so their results land in the
    same study folder (its hash includes the backend).
    """
    import ray

    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS") or None  # what `ray.init()` alone would join
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no network calls home
    env_vars = {"KERAS_BACKEND": keras.backend.backend()}
    for name in ("BREASTNET_CACHE", "TF_CPP_MIN_LOG_LEVEL"):
        if name in os.environ:
            env_vars[name] = os.environ[name]
    options = {"runtime_env": {"env_vars": env_vars}, "logging_level": "warning"}
    if address is None:
        options.update(
            num_cpus=num_cpus or os.cpu_count(),
            include_dashboard=False,
            object_store_memory=LOCAL_OBJECT_STORE_BYTES,
        )
    ray.init(address=address, **options)
    return True


def worker_slots(resources: dict, cpus_per_worker: float, gpus_per_worker: float) -> int:
    """How many actors fit in a cluster's `resources` (`ray.cluster_resources()`) at once."""
    if cpus_per_worker <= 0 or gpus_per_worker < 0:
        raise ValueError(f"cpus per worker must be > 0 and gpus >= 0, not {cpus_per_worker}, {gpus_per_worker}")
    slots = int(resources.get("CPU", 0) // cpus_per_worker)
    if gpus_per_worker > 0:
        slots = min(slots, int(resources.get("GPU", 0) // gpus_per_worker))
    return slots


def train_on_ray(
    job,
    todo,
    architecture_key,
    *,
    address=None,
    cpus_per_worker: float = 1.0,
    gpus_per_worker: float = 0.0,
    max_restarts: int = 3,
    log=print,
    on_started=None,
):
    """Train `todo` on Ray actors, each a warm `Trainer`, whole architecture blocks, the most work first.

    Args:
        job: a `SweepJob`.
        todo: the RunSpecs to train, in `order_for_reuse` order.
        architecture_key: the trainer's `architecture_key`.
        address: a running Ray cluster ("auto", "host:6379", "ray://host:10001"); None:
            $RAY_ADDRESS if set, else a local Ray on this machine's cores, stopped afterwards.
        cpus_per_worker: Ray CPUs per actor (its kernels run on that many threads).
        gpus_per_worker: Ray GPUs per actor; fractional (0.25) puts several actors on one GPU.
        max_restarts: how often a dead actor is restarted and its block retried.
        log: where progress lines of this process go.
        on_started: called with the list of actors once they exist (the worker-kill test).

    Raises:
        RuntimeError: no actor fits in the cluster, or a block failed after Ray's retries;
            the runs finished by then are kept on disk.
    """
    import ray

    started_here = connect(address)
    try:
        blocks = architecture_blocks(todo, architecture_key)
        slots = worker_slots(ray.cluster_resources(), cpus_per_worker, gpus_per_worker)
        if slots < 1:
            raise RuntimeError(
                f"no Ray worker fits: each asks {cpus_per_worker} CPU and {gpus_per_worker} GPU, "
                f"the cluster has {ray.cluster_resources()}"
            )
        workers = min(slots, len(blocks))
        threads = max(1, int(cpus_per_worker))
        actor_class = ray.remote(BlockTrainer).options(
            num_cpus=cpus_per_worker,
            num_gpus=gpus_per_worker,
            max_restarts=max_restarts,
            max_task_retries=max_restarts,
        )
        log(
            f"{len(todo)} runs in {len(blocks)} architecture blocks over {workers} Ray workers "
            f"x {cpus_per_worker:g} CPU ({threads} threads) and {gpus_per_worker:g} GPU"
        )
        actors = [actor_class.remote(job, threads) for _ in range(workers)]
        if on_started is not None:
            on_started(actors)
        queue, running = list(blocks), {}
        for actor in actors:
            if queue:
                running[actor.train.remote(queue.pop(0))] = actor
        while running:
            (ref,), _ = ray.wait(list(running), num_returns=1)
            actor = running.pop(ref)
            try:
                ray.get(ref)
            except Exception as error:
                raise RuntimeError(
                    f"a Ray worker failed after {max_restarts} restarts ({error}); finished runs are "
                    f"saved in {job.folder} and a re-run resumes from them"
                ) from error
            if queue:
                running[actor.train.remote(queue.pop(0))] = actor
    finally:
        if started_here:
            ray.shutdown()
