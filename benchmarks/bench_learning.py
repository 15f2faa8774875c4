"""Learning curves: what a run learns per epoch, and what evaluation sees of it.

Runs of variants on CV folds (`--variants`, `--folds`; one process, one trace per
architecture, as a sweep trains them). Each is one run of a variant on one CV fold of a
profile's study data, trained for a fixed number of epochs (no early stopping), through
`breastnet.train.trainer.Trainer` with the profile's learning-curve option (off with
`--no-curve`, as the book trains): after every epoch, validation and test AUC with Keras'
moving BatchNorm averages ("moving") and with statistics re-estimated from the training
images ("precise"), validation cross-entropy, and the seconds spent re-estimating. Settings
that the profile fields change (crop, learning rate and its schedule, BN momentum) are
arguments, so that two of them can be set side by side.

Usage (two settings at once on a 2-core machine, one thread each):
    .venv/bin/python benchmarks/bench_learning.py --data ../shared/data/BUS-BRA \
        --epochs 15 --crop pad --threads 1 --out benchmarks/results/curve-pad.json
    .venv/bin/python benchmarks/bench_learning.py --table benchmarks/results/curve-*.json
    # the book's runs of two variants on three folds, last epoch tested only, a cosine schedule:
    .venv/bin/python benchmarks/bench_learning.py --data ../shared/data/BUS-BRA --epochs 10 --threads 1 \
        --variants DSTL DMTL --folds 0 1 2 --no-curve --lr-schedule cosine --lr 1e-2 \
        --out benchmarks/results/cosine/cos1e-2.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def run_path(out: Path, variant: str, fold: int, several: bool) -> Path:
    """Where a run's curve goes: `out` itself, or `out` with -VARIANT-fFOLD when several runs."""
    return out.with_name(f"{out.stem}-{variant}-f{fold}.json") if several else out


def run_curves(args) -> list[Path]:
    """Every (variant, fold) of the arguments, on one `Trainer` (one trace per architecture).

    Each run's file is written (atomically) as soon as it finishes, so a run that fails or a
    kill loses none of the runs before it."""
    from dataclasses import replace

    from breastnet.data.load import load_dataset
    from breastnet.model.variants import get_variant
    from breastnet.study.plan import make_splits, study_dataset
    from breastnet.study.results import _atomic_write_bytes
    from breastnet.train.batches import PatchStore
    from breastnet.train.profiles import get_profile
    from breastnet.train.runtime import cpu_description, limit_cpu_threads
    from breastnet.train.trainer import Trainer

    threads = limit_cpu_threads(args.threads) if args.threads else "backend default"
    base = get_profile(args.profile)
    profile = replace(
        base,
        epochs=args.epochs,
        patience=None,  # a fixed number of epochs, the last one's weights tested
        crop=args.crop,
        margin=args.margin if args.margin is not None else base.margin,
        learning_rate=args.lr,
        optimizer=args.optimizer,
        lr_schedule=args.lr_schedule,
        size=args.size or base.size,
        batch_size=args.batch or base.batch_size,
        bn_momentum=args.momentum,
        weight_ema=args.ema,
        val_fraction=args.val_fraction if args.val_fraction is not None else base.val_fraction,
        folds=args.cv_folds or base.folds,
        bn_stats="precise",
        curve_variant=args.variants[0] if args.curve else None,
        weights=args.weights,
    )
    data = study_dataset(load_dataset(args.data), profile)
    splits = {s.fold: s for s in make_splits(data, profile) if s.repeat == 0}
    store = PatchStore(data)
    trainer = Trainer(profile, verbose=0, cpu_threads=threads, curves_for_every_run=args.curve)
    out, several = Path(args.out), len(args.variants) * len(args.folds) > 1
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in args.variants:
        for fold in args.folds:
            split = splits[fold]
            start = time.perf_counter()
            result, _ = trainer.run(data, store, split, get_variant(name), seed=profile.seed + split.fold)
            run = {
                "setting": {
                    "variant": name,
                    "fold": fold,
                    "crop": args.crop,
                    "margin": profile.margin,
                    "lr": args.lr,
                    "optimizer": args.optimizer,
                    "lr_schedule": args.lr_schedule,
                    "epochs": args.epochs,
                    "cv_folds": profile.folds,
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
                "history": result["training"]["history"],
                "metrics": result["metrics"],
                "seconds": result["training"]["seconds"],
                "wall": time.perf_counter() - start,
                "n": {k: result["dataset"][k] for k in ("n_train", "n_val", "n_test")},
            }
            paths.append(run_path(out, name, fold, several))
            _atomic_write_bytes(paths[-1], json.dumps(run, indent=1).encode())
            print(f"{name} fold {fold}: test AUC {result['metrics']['auc']:.3f} ({run['wall']:.0f} s)", flush=True)
    return paths


def table(paths) -> str:
    lines = []
    for path in paths:
        run = json.loads(Path(path).read_text())
        s, h = run["setting"], run["history"]
        lines.append(
            f"\n{s['variant']} fold {s['fold']} on {s['dataset']}, {s['size']} px, "
            f"batch {s.get('batch_size', 16)}, crop {s['crop']}, margin {s.get('margin', 0.1):g}, "
            f"{s.get('optimizer', 'sgd')} lr {s['lr']:g} ({s.get('lr_schedule', 'inverse_time')}), "
            f"{len(h['loss'])} epochs, test AUC {run['metrics']['auc']:.3f}, BN momentum {s['bn_momentum']:g}, "
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
    parser.add_argument("--variants", "--variant", nargs="+", default=["DSTL"], help="variants, in order")
    parser.add_argument("--folds", "--fold", nargs="+", type=int, default=[0], help="CV folds of repeat 0")
    parser.add_argument("--cv-folds", type=int, default=0, help="folds per CV repeat (0: the profile's)")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--size", type=int, default=0, help="patch side in pixels (0: the profile's)")
    parser.add_argument("--batch", type=int, default=0, help="training batch size (0: the profile's)")
    parser.add_argument("--crop", default="pad", choices=("pad", "stretch"))
    parser.add_argument("--margin", type=float, default=None, help="OA crop margin (default: the profile's)")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--optimizer", default="sgd", choices=("sgd", "adam"))
    parser.add_argument("--lr-schedule", default="inverse_time", choices=("inverse_time", "cosine"))
    parser.add_argument(
        "--no-curve",
        dest="curve",
        action="store_false",
        help="no per-epoch test AUC (a run as the book trains it; only the last epoch is tested)",
    )
    parser.add_argument("--momentum", type=float, default=0.99, help="BN moving-average momentum")
    parser.add_argument("--ema", type=float, default=None, help="weight EMA momentum (profile field weight_ema)")
    parser.add_argument(
        "--val-fraction", type=float, default=None, help="validation share of the training part (0: none)"
    )
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: backend default)")
    parser.add_argument(
        "--weights", default=None, help="backbone weights file to start from (default: random init); bench_pretrain.py"
    )
    parser.add_argument(
        "--out",
        default="benchmarks/results/learning/curve.json",
        help="write the curve as JSON here (several runs: one file each, named ...-VARIANT-fFOLD.json)",
    )
    parser.add_argument("--table", nargs="+", help="print the tables of these curve files and exit")
    args = parser.parse_args(argv)
    if args.table:
        print(table(args.table))
        return 0
    print(table(run_curves(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
