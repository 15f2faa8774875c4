"""In-domain pretraining: does a backbone that starts from learned weights reach the paper's regime?

The paper fine-tunes ImageNet DenseNet-121 weights; none can be downloaded here, so every
number of the book is from random init. This measures the nearest stand-in that this machine
can make: a DenseNet-121 trained (single OA stream, malignant/benign, the project's `Trainer`)
on the dataset's images of the patients who are NOT in the profile's limited-data subset, its
backbone saved without the top as a `.weights.h5` file. `bench_learning.py --weights FILE`
then trains the study's folds from it, and the result files record `file:NAME` as weights.

No subset patient is seen in pretraining (the split is by patient), so the study's test folds
stay unseen; but the pretrained network has seen many more labelled images of the same
dataset, which is a different question from the paper's limited-data one (see
benchmarks/LOG.md, 2026-12-03 in-domain pretraining).

Usage:
    .venv/bin/python benchmarks/bench_pretrain.py --data ../shared/data/BUS-BRA \
        --epochs 8 --out results/pretrain/densenet121-busbra-rest.weights.h5
    .venv/bin/python benchmarks/bench_learning.py --data ../shared/data/BUS-BRA --epochs 10 \
        --weights results/pretrain/densenet121-busbra-rest.weights.h5 --fold 0 --out ...
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def pretrain(args) -> dict:
    from dataclasses import replace

    import numpy as np

    from breastnet.data.load import load_dataset
    from breastnet.data.splits import Split, inner_validation
    from breastnet.model.variants import get_variant
    from breastnet.study.plan import study_dataset
    from breastnet.train.batches import PatchStore
    from breastnet.train.profiles import get_profile
    from breastnet.train.runtime import cpu_description, limit_cpu_threads
    from breastnet.train.trainer import Trainer

    threads = limit_cpu_threads(args.threads) if args.threads else "backend default"
    base = get_profile(args.profile)
    profile = replace(base, epochs=args.epochs, patience=None, weights=None, curve_variant=None)
    full = load_dataset(args.data)
    study = study_dataset(full, base)
    held = {r.patient for r in study.records}
    rest = full.subset([r.id for r in full.records if r.patient not in held], name=f"{full.name}-rest-of-{study.name}")
    if not len(rest):
        raise SystemExit(f"{full.name}: every patient is in the study subset {study.name}; nothing to pretrain on")
    train, val = inner_validation(rest.records, np.arange(len(rest)), args.val_fraction, seed=base.seed)
    split = Split(fold=0, repeat=0, train=train, val=val, test=val)
    variant = get_variant("DSSL")
    trainer = Trainer(profile, verbose=2, cpu_threads=threads)
    start = time.perf_counter()
    fitted = trainer.fit(rest, PatchStore(rest), split, variant, seed=base.seed)
    backbone = fitted.model.get_layer(f"oa_{variant.backbone}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name.replace(".weights.h5", ".partial.weights.h5"))
    try:  # a failed or killed save leaves no half-written weights file behind
        backbone.save_weights(str(tmp))
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    summary = {
        "weights_file": str(out),
        "dataset": full.name,
        "pretrained_on": rest.name,
        "study_subset": study.name,
        "n": {"rest": len(rest), "train": len(train), "val": len(val), "study_patients_excluded": len(held)},
        "overlap_with_study_patients": len(held & {r.patient for r in rest.records}),
        "profile": args.profile,
        "epochs": args.epochs,
        "threads": threads,
        "cpu": cpu_description(),
        "wall": time.perf_counter() - start,
        "history": {k: [float(v) for v in vals] for k, vals in fitted.history.items()},
    }
    out.with_suffix("").with_suffix(".json").write_text(json.dumps(summary, indent=1))
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="dataset path (default: $BREASTNET_DATA, else synthetic)")
    parser.add_argument("--profile", default="cpu", help="whose subset is held out, and its size/crop/SGD")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--val-fraction", type=float, default=0.15)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: backend default)")
    parser.add_argument("--out", required=True, help="the backbone's .weights.h5 file")
    args = parser.parse_args(argv)
    if not args.out.endswith(".weights.h5"):
        parser.error("--out must end in .weights.h5 (Keras 3 weights file)")
    summary = pretrain(args)
    h = summary["history"]
    print(f"pretrained on {summary['n']} in {summary['wall']:.0f} s -> {summary['weights_file']}")
    for key in ("loss", "val_ce", "val_auc"):
        if key in h:
            print(f"| {key} | " + " | ".join(f"{v:.3f}" for v in h[key]) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
