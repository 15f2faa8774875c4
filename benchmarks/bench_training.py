"""Training throughput: a plain Keras baseline and the breastnet trainer, side by side.

One invocation runs every configuration in its own subprocess (so each gets its
own peak-memory reading and its own fresh graph) on the same synthetic in-memory
patches, and prints one table:

    config | size | first step or epoch (s) | steady images/s | peak RSS (MiB) | ratio to baseline

Baseline: two keras.applications.DenseNet121 streams (random init), concatenated
GAP features, 2-way softmax, SGD, plain `model.fit` on in-memory arrays, batch 16:
the setup whose numbers the speed issue quotes. Project: `breastnet.train.trainer.Trainer`
(compiled once, re-initialised per run, augmentation on) with the knobs under test.

Usage:
    .venv/bin/python benchmarks/bench_training.py --sizes 64 --steps 12
    .venv/bin/python benchmarks/bench_training.py --sizes 64 224 --steps 8 \
        --configs baseline project project-b32
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

CONFIGS = {
    # name: (kind, batch size, extra settings)
    "baseline": ("baseline", 16, {}),
    # jit_compile=True: XLA on TensorFlow, torch.compile (inductor) on PyTorch; JAX always jits.
    "baseline-jit": ("baseline", 16, {"jit_compile": True}),
    "project": ("project", 16, {}),
    "project-b32": ("project", 32, {}),
    "project-threads1x2": ("project", 16, {"inter_op": 1, "intra_op": 2}),
    "project-1thread": ("project", 16, {"inter_op": 1, "intra_op": 1}),
    # Two one-thread processes at once, as `python -m breastnet sweep --workers 2` runs them:
    # the row is their summed images/s (the cores are shared, memory bandwidth too).
    "project-2workers": ("project", 16, {"inter_op": 1, "intra_op": 1, "processes": 2}),
    "project-spe4": ("project", 16, {"steps_per_execution": 4}),
    "project-eager": ("project", 16, {"run_eagerly": True}),
    "project-nondet": ("project", 16, {"deterministic": False}),
    # The optimiser, one thread each (the `cpu` profile's Adam against the paper's SGD).
    "project-sgd-1thread": ("project", 16, {"inter_op": 1, "intra_op": 1, "optimizer": "sgd"}),
    "project-adam-1thread": ("project", 16, {"inter_op": 1, "intra_op": 1, "optimizer": "adam"}),
}


def _threads(settings):
    if "intra_op" in settings and os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
        import tensorflow as tf  # benchmark-only thread knob

        tf.config.threading.set_inter_op_parallelism_threads(settings["inter_op"])
        tf.config.threading.set_intra_op_parallelism_threads(settings["intra_op"])


class BatchTimer:
    """Wall time of every training batch."""

    def __init__(self):
        import keras

        class _Timer(keras.callbacks.Callback):
            def on_train_batch_begin(cb, batch, logs=None):
                cb.start = time.perf_counter()

            def on_train_batch_end(cb, batch, logs=None):
                self.seconds.append(time.perf_counter() - cb.start)

        self.seconds = []
        self.callback = _Timer()


def two_stream_baseline(size, jit_compile="auto"):
    """The plain model: two DenseNet-121 streams, concatenated GAP features, softmax, SGD."""
    import keras

    inputs, feats = {}, []
    for stream in ("oa", "hs"):
        inputs[stream] = keras.Input((size, size, 3), name=stream)
        with keras.name_scope(stream):
            net = keras.applications.DenseNet121(
                include_top=False,
                weights=None,
                input_shape=(size, size, 3),
                pooling="avg",
                name=f"{stream}_densenet121",
            )
        feats.append(net(inputs[stream]))
    out = keras.layers.Dense(2, activation="softmax")(keras.layers.Concatenate()(feats))
    model = keras.Model(inputs, out)
    model.compile(
        optimizer=keras.optimizers.SGD(1e-3, momentum=0.9), loss="categorical_crossentropy", jit_compile=jit_compile
    )
    return model


def in_memory_project_data(n, size):
    """A Dataset of n records and a patch store serving random uint8 patches from memory."""
    import numpy as np

    from breastnet.data.patches import PatchSet
    from breastnet.data.records import Dataset, Record

    rng = np.random.default_rng(0)
    records = [Record(f"i{i}", "-", "-", int(i % 2), "3", 0.01, f"p{i}", "bench") for i in range(n)]
    data = Dataset("bench", ".", "manifest", records)
    oa = rng.integers(0, 255, (n, size, size), dtype=np.uint8)
    hs = (rng.uniform(size=oa.shape) > 0.5).astype(np.uint8) * 255

    class Store:  # in-memory patches: the benchmarks measure training, not preprocessing
        def get(self, size_, margin, crop="pad"):
            return PatchSet([r.id for r in records], oa, hs, size, margin, "bench", crop)

    return data, Store()


def run_baseline(size, steps, batch, settings):
    import numpy as np

    model = two_stream_baseline(size, settings.get("jit_compile", "auto"))
    rng = np.random.default_rng(0)
    n = batch * steps
    x = {s: rng.normal(size=(n, size, size, 3)).astype("float32") for s in ("oa", "hs")}
    y = np.eye(2, dtype="float32")[rng.integers(0, 2, n)]
    timer = BatchTimer()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0, callbacks=[timer.callback])
    return timer.seconds[0], batch * (len(timer.seconds) - 1) / sum(timer.seconds[1:])


def run_project(size, steps, batch, settings):
    from dataclasses import replace

    import numpy as np

    from breastnet.data.splits import Split
    from breastnet.model.variants import get_variant
    from breastnet.train.profiles import get_profile
    from breastnet.train.trainer import Trainer

    n = batch * steps
    data, store = in_memory_project_data(n + 4, size)
    profile = replace(
        get_profile("cpu"),
        size=size,
        epochs=1,
        batch_size=batch,
        weights=None,
        val_fraction=0.0,
        eval_batch_size=64,
        curve_variant=None,
        deterministic=settings.get("deterministic", True),
        run_eagerly=settings.get("run_eagerly", False),
        optimizer=settings.get("optimizer", get_profile("cpu").optimizer),
    )
    timer = BatchTimer()
    trainer = Trainer(
        profile, verbose=0, callbacks=[timer.callback], steps_per_execution=settings.get("steps_per_execution", 1)
    )
    split = Split(0, 0, np.arange(n), np.array([], dtype=np.int64), np.arange(n, n + 4))
    trainer.run(data, store, split, get_variant("DSTL"), seed=0)
    first = timer.seconds[0]
    # A second run on the same trainer: its first step shows whether the trace was reused.
    timer.seconds.clear()
    trainer.run(data, store, split, get_variant("DSTL", 0.25), seed=1)
    second_first = timer.seconds[0]
    steady = batch * (len(timer.seconds) - 1) / sum(timer.seconds[1:])
    return first, steady, second_first


def child(args):
    kind, batch, settings = CONFIGS[args.config]
    _threads(settings)
    start = time.perf_counter()
    if kind == "baseline":
        first, rate = run_baseline(args.size, args.steps, batch, settings)
        second_first = None
    else:
        first, rate, second_first = run_project(args.size, args.steps, batch, settings)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "config": args.config,
                "backend": os.environ.get("KERAS_BACKEND", "tensorflow"),
                "size": args.size,
                "batch": batch,
                "first_step_s": first,
                "second_run_first_step_s": second_first,
                "images_per_s": rate,
                "peak_mib": peak,
                "wall_s": time.perf_counter() - start,
            }
        )
    )


def run_config(config, size, steps, env, timeout=None):
    """One row: the config's child process, or several at once for a multi-process config."""
    processes = CONFIGS[config][2].get("processes", 1)
    cmd = [sys.executable, __file__, "--child", "--config", config, "--size", str(size), "--steps", str(steps)]
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(processes)
    ]
    rows = []
    for proc in procs:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
            stderr += f"\nkilled after {timeout:.0f} s"
        lines = [line for line in stdout.splitlines() if line.startswith("{")]
        if proc.returncode or not lines:
            print(f"{config} {size}px failed:\n{stderr[-2000:]}")
            return None
        rows.append(json.loads(lines[-1]))
    if processes == 1:
        return rows[0]
    # Concurrent processes: throughput adds up; the slowest sets the times; memory adds up.
    return {
        "config": config,
        "backend": rows[0]["backend"],
        "size": size,
        "batch": rows[0]["batch"],
        "first_step_s": max(r["first_step_s"] for r in rows),
        "second_run_first_step_s": max(r["second_run_first_step_s"] for r in rows),
        "images_per_s": sum(r["images_per_s"] for r in rows),
        "peak_mib": sum(r["peak_mib"] for r in rows),
        "wall_s": max(r["wall_s"] for r in rows),
        "per_process_images_per_s": [r["images_per_s"] for r in rows],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64])
    parser.add_argument("--steps", type=int, default=12, help="training steps measured per config")
    parser.add_argument("--configs", nargs="+", default=["baseline", "project"], choices=list(CONFIGS))
    parser.add_argument(
        "--backends",
        nargs="+",
        default=[os.environ.get("KERAS_BACKEND", "tensorflow")],
        choices=("tensorflow", "torch", "jax"),
        help="Keras backends, each config run on each (ratios are to the first backend's baseline)",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds before a config's process is killed")
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    rows = []
    print(f"backends {', '.join(args.backends)}; {os.cpu_count()} CPUs, {args.steps} steps per config")
    for size in args.sizes:
        for backend in args.backends:
            env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND=backend)
            for config in args.configs:
                row = run_config(config, size, args.steps, env, args.timeout)
                if row is not None:
                    rows.append(row)
                    print(f"  done {backend} {config} {size}px in {row['wall_s']:.0f} s", flush=True)
    print(
        f"\n{'backend':<11}{'config':<20}{'size':>5}{'batch':>6}{'1st step s':>11}{'2nd run 1st':>12}"
        f"{'img/s':>8}{'peak MiB':>9}{'ratio':>7}"
    )
    for row in rows:
        base = next(
            (
                r
                for r in rows
                if r["config"] == "baseline" and r["size"] == row["size"] and r["backend"] == args.backends[0]
            ),
            None,
        )
        ratio = row["images_per_s"] / base["images_per_s"] if base else float("nan")
        second = row["second_run_first_step_s"]
        print(
            f"{row['backend']:<11}{row['config']:<20}{row['size']:>5}{row['batch']:>6}{row['first_step_s']:>11.1f}"
            f"{(f'{second:.1f}' if second is not None else '-'):>12}{row['images_per_s']:>8.2f}"
            f"{row['peak_mib']:>9.0f}{ratio:>7.2f}"
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    sys.exit(main())
