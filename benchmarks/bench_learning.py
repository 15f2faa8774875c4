"""Learning curves: what a run learns per epoch, and what evaluation sees of it.

One run of a variant on one CV fold of a profile's study data, trained for a fixed
number of epochs (no early stopping), through `breastnet.train.trainer.Trainer` with the
profile's learning-curve option: after every epoch, validation and test AUC with
Keras' moving BatchNorm averages ("moving") and with statistics re-estimated from the
training images ("precise"), validation cross-entropy, and the seconds spent
re-estimating. Settings that the profile fields change (crop, learning rate, BN
momentum) are arguments, so that two of them can be set side by side.

Usage (two settings at once on a 2-core machine, one thread each):
    .venv/bin/python benchmarks/bench_learning.py --data ../shared/data/BUS-BRA \
        --epochs 15 --crop pad --threads 1 --out benchmarks/results/curve-pad.json
    .venv/bin/python benchmarks/bench_learning.py --table benchmarks/results/curve-*.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def run_curve(args) -> dict:
    from dataclasses import replace

    from breastnet.data.load import load_dataset
    from breastnet.model.variants import get_variant
    from breastnet.study.plan import make_splits, study_dataset
    from breastnet.train.batches import PatchStore
    from breastnet.train.profiles import get_profile
    from breastnet.train.runtime import cpu_description, limit_cpu_threads
    from breastnet.train.trainer import Trainer

    threads = limit_cpu_threads(args.threads) if args.threads else "backend default"
    profile = replace(
        get_profile(args.profile),
        epochs=args.epochs,
        patience=None,  # a fixed number of epochs, the last one's weights tested
        crop=args.crop,
        margin=args.margin if args.margin is not None else get_profile(args.profile).margin,
        learning_rate=args.lr,
        optimizer=args.optimizer,
        size=args.size or get_profile(args.profile).size,
        batch_size=args.batch or get_profile(args.profile).batch_size,
        bn_momentum=args.momentum,
        weight_ema=args.ema,
        val_fraction=args.val_fraction if args.val_fraction is not None else get_profile(args.profile).val_fraction,
        bn_stats="precise",
        curve_variant=args.variant,
        weights=args.weights,
    )
    data = study_dataset(load_dataset(args.data), profile)
    split = [s for s in make_splits(data, profile) if s.fold == args.fold and s.repeat == 0][0]
    trainer = Trainer(profile, verbose=0, cpu_threads=threads, curves_for_every_run=True)
    start = time.perf_counter()
    result, _ = trainer.run(data, PatchStore(data), split, get_variant(args.variant), seed=profile.seed + split.fold)
    hist = result["training"]["history"]
    return {
        "setting": {
            "variant": args.variant,
            "fold": args.fold,
            "crop": args.crop,
            "margin": profile.margin,
            "lr": args.lr,
            "optimizer": args.optimizer,
            "bn_momentum": args.momentum,
            "weight_ema": args.ema,
            "val_fraction": profile.val_fraction,
            "size": profile.size,
            "batch_size": profile.batch_size,
            "dataset": data.name,
            "threads": threads,
            "cpu": cpu_description(),
            "weights": result["weights"],
        },
        "history": hist,
        "metrics": result["metrics"],
        "seconds": result["training"]["seconds"],
        "wall": time.perf_counter() - start,
        "n": {k: result["dataset"][k] for k in ("n_train", "n_val", "n_test")},
    }


def table(paths) -> str:
    lines = []
    for path in paths:
        run = json.loads(Path(path).read_text())
        s, h = run["setting"], run["history"]
        lines.append(
            f"\n{s['variant']} fold {s['fold']} on {s['dataset']}, {s['size']} px, "
            f"batch {s.get('batch_size', 16)}, crop {s['crop']}, margin {s.get('margin', 0.1):g}, "
            f"{s.get('optimizer', 'sgd')} lr {s['lr']:g}, BN momentum {s['bn_momentum']:g}, "
            f"weight EMA {s.get('weight_ema')}, "
            f"threads {s['threads']}, CPU {s.get('cpu', 'not recorded')}, weights {s.get('weights', 'random init')} "
            f"(train/val/test {run['n']['n_train']}/{run['n']['n_val']}/{run['n']['n_test']}; "
            f"{run['wall']:.0f} s, of which BN re-estimation {run['seconds']['bn_stats']:.0f} s)"
        )
        lines.append("| epoch | " + " | ".join(str(e + 1) for e in range(len(h["loss"]))) + " |")
        lines.append("|---" * (len(h["loss"]) + 1) + "|")
        for key in (
            "val_ce",
            "val_auc_moving",
            "val_auc_precise",
            "test_auc_moving",
            "test_auc_precise",
            "test_auc_precise_flip",
        ):
            if key not in h:  # no validation part (--val-fraction 0), or a file from before the key
                continue
            lines.append(f"| {key} | " + " | ".join(f"{v:.2f}" for v in h[key]) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="dataset path (default: $BREASTNET_DATA, else synthetic)")
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--variant", default="DSTL")
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--size", type=int, default=0, help="patch side in pixels (0: the profile's)")
    parser.add_argument("--batch", type=int, default=0, help="training batch size (0: the profile's)")
    parser.add_argument("--crop", default="pad", choices=("pad", "stretch"))
    parser.add_argument("--margin", type=float, default=None, help="OA crop margin (default: the profile's)")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--optimizer", default="sgd", choices=("sgd", "adam"))
    parser.add_argument("--momentum", type=float, default=0.99, help="BN moving-average momentum")
    parser.add_argument("--ema", type=float, default=None, help="weight EMA momentum (profile field weight_ema)")
    parser.add_argument(
        "--val-fraction", type=float, default=None, help="validation share of the training part (0: none)"
    )
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: backend default)")
    parser.add_argument(
        "--weights", default=None, help="backbone weights file to start from (default: random init); bench_pretrain.py"
    )
    parser.add_argument("--out", help="write the curve as JSON here")
    parser.add_argument("--table", nargs="+", help="print the tables of these curve files and exit")
    args = parser.parse_args(argv)
    if args.table:
        print(table(args.table))
        return 0
    run = run_curve(args)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(run, indent=1))
        print(table([args.out]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
