"""Amortised compile: per-run times of a k-fold sweep, plain Keras against the breastnet trainer.

A sweep trains one architecture many times (folds x repeats x alphas). Plain Keras
builds and compiles a new model for every run, so every run pays the graph trace.
`breastnet.train.trainer.Trainer` traces once per architecture and re-initialises the
weights in place, so only the first run pays it. This script runs both, one
process each, on the same synthetic in-memory patches (two DenseNet-121 streams,
DSTL, random init, batch 16, 1 epoch per run) and prints the per-run wall times
side by side.

Usage:
    .venv/bin/python benchmarks/bench_sweep.py --runs 5 --size 64 --train 96
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_training import in_memory_project_data, two_stream_baseline  # noqa: E402


def baseline_runs(runs, size, n_train, batch):
    """Per-run seconds of a plain sweep: a new model, compile and fit for every run."""
    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    x = {s: rng.normal(size=(n_train, size, size, 3)).astype("float32") for s in ("oa", "hs")}
    y = np.eye(2, dtype="float32")[rng.integers(0, 2, n_train)]
    seconds = []
    for run in range(runs):
        start = time.perf_counter()
        keras.utils.set_random_seed(run)
        model = two_stream_baseline(size)
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        model.predict(x, batch_size=64, verbose=0)
        seconds.append({"total": time.perf_counter() - start})
        del model
        keras.backend.clear_session()  # what a careful plain sweep does between models
    return seconds


def project_runs(runs, size, n_train, batch):
    """Per-run seconds (total, trace/build, re-init, fit) of `Trainer.run` over `runs` folds."""
    from dataclasses import replace

    import numpy as np

    from breastnet.data.splits import Split
    from breastnet.model.variants import get_variant
    from breastnet.train.profiles import get_profile
    from breastnet.train.trainer import Trainer

    data, store = in_memory_project_data(n_train + 16, size)
    profile = replace(
        get_profile("cpu"),
        size=size,
        epochs=1,
        batch_size=batch,
        weights=None,
        val_fraction=0.0,
        eval_batch_size=64,
        curve_variant=None,
    )
    trainer = Trainer(profile, verbose=0)
    seconds = []
    for run in range(runs):
        # Each fold tests on a different 16 images, as the folds of a sweep do.
        test = np.arange(run * 16, run * 16 + 16) % len(data.records)
        train = np.setdiff1d(np.arange(len(data.records)), test)[:n_train]
        split = Split(run, 0, train, np.array([], dtype=np.int64), test)
        start = time.perf_counter()
        result, _ = trainer.run(data, store, split, get_variant("DSTL"), seed=run)
        parts = result["training"]["seconds"]
        seconds.append(
            {
                "total": time.perf_counter() - start,
                "trace_build": parts["compile_build"],
                "reinit": parts["reinit"],
                "fit": parts["fit"],
                "evaluate": parts["evaluate"],
            }
        )
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs (folds) of the sweep")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--train", type=int, default=96, help="training images per run")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    parser.add_argument("--child", choices=("baseline", "project"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        fn = baseline_runs if args.child == "baseline" else project_runs
        print(json.dumps(fn(args.runs, args.size, args.train, args.batch)))
        return 0
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    times = {}
    for kind in ("baseline", "project"):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                kind,
                "--runs",
                str(args.runs),
                "--size",
                str(args.size),
                "--train",
                str(args.train),
                "--batch",
                str(args.batch),
            ],
            capture_output=True,
            text=True,
            env=env,
        )
        lines = [line for line in out.stdout.splitlines() if line.startswith("[")]
        if out.returncode or not lines:
            print(f"{kind} failed:\n{out.stderr[-3000:]}")
            return 1
        times[kind] = json.loads(lines[-1])
        print(f"  done {kind}: {sum(t['total'] for t in times[kind]):.0f} s", flush=True)
    print(
        f"\nbackend {os.environ.get('KERAS_BACKEND', 'tensorflow')}, {os.cpu_count()} CPUs, {args.size} px, "
        f"{args.train} training images x 1 epoch per run, batch {args.batch}\n"
    )
    print(f"{'run':>4}{'baseline s':>12}{'project s':>11}{'(trace+build':>14}{'reinit':>8}{'fit':>7}{'eval)':>7}")
    for i, (b, p) in enumerate(zip(times["baseline"], times["project"]), start=1):
        print(
            f"{i:>4}{b['total']:>12.1f}{p['total']:>11.1f}{p['trace_build']:>14.1f}{p['reinit']:>8.1f}"
            f"{p['fit']:>7.1f}{p['evaluate']:>7.1f}"
        )
    total_b = sum(t["total"] for t in times["baseline"])
    total_p = sum(t["total"] for t in times["project"])
    print(f"{'all':>4}{total_b:>12.1f}{total_p:>11.1f}   ratio baseline/project {total_b / total_p:.2f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(vars(args), times=times), fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
