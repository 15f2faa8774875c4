"""Command line: `python -m breastnet {train,sweep,plan,check,patches,summary,fit,predict,evaluate,external,phantoms,
data}` (`data busbra`: download BUS-BRA)."""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter


def _common(parser):
    from .train.profiles import CHOICES

    parser.add_argument(
        "--data",
        default=None,
        help="dataset path (BUS-BRA folder, BUSI folder or manifest CSV); "
        "default $BREASTNET_DATA, else the synthetic phantoms",
    )
    parser.add_argument("--profile", default="smoke", help="smoke, cpu, paper or test (default smoke)")
    parser.add_argument("--out", default="results", help="results folder (default ./results)")
    parser.add_argument(
        "--weights", default=None, help="auto, imagenet, none, or a .weights.h5 file (default: the profile's)"
    )
    parser.add_argument("--epochs", type=int, default=None, help="override the profile's epochs")
    parser.add_argument("--folds", type=int, default=None, help="override the profile's folds")
    parser.add_argument("--repeats", type=int, default=None, help="override the profile's repeats")
    parser.add_argument("--max-folds", type=int, default=None, help="train only the first N folds")
    parser.add_argument("--size", type=int, default=None, help="override the profile's patch size")
    parser.add_argument(
        "--subset", default=None, help="BENIGN,MALIGNANT image counts of the limited subset, or 'none' for all"
    )
    parser.add_argument(
        "--splits",
        choices=("cv", "official"),
        default="cv",
        help="cv: repeated StratifiedGroupKFold; official: BUS-BRA's k-fold CSV",
    )
    parser.add_argument(
        "--crop",
        choices=CHOICES["crop"],
        default=None,
        help="square patches by padding (keeps proportions) or stretching the lesion box",
    )
    parser.add_argument(
        "--bn-stats",
        choices=CHOICES["bn_stats"],
        default=None,
        help="BatchNorm statistics for evaluation (default: the profile's)",
    )
    parser.add_argument("--lr", type=float, default=None, help="override the profile's initial learning rate")
    parser.add_argument(
        "--optimizer",
        choices=CHOICES["optimizer"],
        default=None,
        help="sgd: the paper's (momentum 0.9, decay 1e-6); adam: not in the paper (default: the profile's)",
    )
    parser.add_argument(
        "--lr-schedule",
        choices=CHOICES["lr_schedule"],
        default=None,
        help="inverse_time: the paper's per-update decay; cosine: per epoch to 0, not in the paper "
        "(default: the profile's)",
    )
    parser.add_argument(
        "--precision",
        choices=CHOICES["precision"],
        default=None,
        help="Keras dtype policy of the networks (default: the profile's, float32); mixed_* for GPUs",
    )
    parser.add_argument(
        "--heldout",
        choices=CHOICES["heldout"],
        default=None,
        help="rest: also train the held-out rows on the whole subset and test them on every image of the "
        "patients outside it; none: cross-validation only (default: the profile's)",
    )
    parser.add_argument("--seeds", type=int, default=None, help="training seeds of each held-out row (R)")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes training at once, each on cores/workers CPU threads and whole "
        "architectures (default 1; 2 is faster on a 2-core CPU, see benchmarks/)",
    )
    parser.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: this process or --workers processes; ray: Ray actors on a local Ray or --address",
    )
    parser.add_argument(
        "--address", default=None, help="Ray cluster to join (e.g. auto); default: start a local Ray (--engine ray)"
    )
    parser.add_argument(
        "--cpus-per-worker", type=float, default=1.0, help="Ray CPUs (and kernel threads) per actor (default 1)"
    )
    parser.add_argument(
        "--gpus-per-worker",
        type=float,
        default=0.0,
        help="Ray GPUs per actor; fractional (0.25) runs several actors on one GPU (default 0)",
    )


def _profile(args):
    from .train.profiles import get_profile

    subset = None
    if args.subset is not None:
        subset = "none" if args.subset.lower() == "none" else tuple(int(x) for x in args.subset.split(","))
    profile = get_profile(
        args.profile,
        epochs=args.epochs,
        folds=args.folds,
        repeats=args.repeats,
        size=args.size,
        max_folds=args.max_folds,
        crop=args.crop,
        bn_stats=args.bn_stats,
        learning_rate=args.lr,
        optimizer=args.optimizer,
        lr_schedule=args.lr_schedule,
        precision=args.precision,
        heldout=args.heldout,
        seeds=args.seeds,
    )
    if subset == "none":
        profile = profile.replace(subset=None)
    elif subset is not None:
        profile = profile.replace(subset=subset)
    return profile


def _ray_options(args):
    if args.engine != "ray":
        if args.address is not None:
            raise SystemExit("--address needs --engine ray")
        return None
    return {
        "address": args.address,
        "cpus_per_worker": args.cpus_per_worker,
        "gpus_per_worker": args.gpus_per_worker,
    }


def _sweep(args, variants, alphas, spectra):
    from .data import load_dataset
    from .report import summarize
    from .study.sweep import run_sweep

    profile = _profile(args)
    dataset = load_dataset(args.data)
    weights = "profile" if args.weights is None else (None if args.weights.lower() == "none" else args.weights)
    folder, results = run_sweep(
        dataset,
        profile,
        args.out,
        variants=variants,
        alphas=alphas,
        spectra=spectra,
        scheme=args.splits,
        weights=weights,
        verbose=0 if args.quiet else 2,
        workers=args.workers,
        engine=args.engine,
        ray_options=_ray_options(args),
    )
    print()
    if dataset.synthetic:
        print("NOTE: SYNTHETIC phantom data, not patients.")
    print(summarize(results))
    print(f"\n{len(results)} result files in {folder}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m breastnet", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="one variant over the profile's folds")
    _common(train)
    train.add_argument(
        "--variant",
        default="E-DMTL",
        help="DSSL, E-DSSL, DSTL, E-DSTL, DMTL, E-DMTL, Inception, ResNet-50, Han2017, Descriptors (the floor)",
    )
    train.add_argument("--alpha", type=float, default=None, help="entropy weight (default: the variant's)")

    sweep = sub.add_parser("sweep", help="the profile's grid: Table 1 rows and alpha spectra")
    _common(sweep)
    sweep.add_argument("--variants", default=None, help="comma-separated subset of variants")
    sweep.add_argument("--no-spectra", action="store_true", help="skip the alpha spectra")

    plan = sub.add_parser("plan", help="what a sweep would run: runs, image-epochs, estimated wall time")
    _common(plan)
    plan.add_argument("--variants", default=None, help="comma-separated subset of variants")
    plan.add_argument("--no-spectra", action="store_true", help="skip the alpha spectra")
    plan.add_argument(
        "--print-folder", action="store_true", help="print only the study folder the results go to (a cache key)"
    )

    check = sub.add_parser("check", help="read every record and report every problem")
    check.add_argument("path", nargs="?", default=None, help="dataset path (default $BREASTNET_DATA)")
    check.add_argument("--multitask", action="store_true", help="BI-RADS problems are fatal")

    patches = sub.add_parser("patches", help="compute and cache OA/HS patches")
    patches.add_argument("--data", default=None)
    patches.add_argument("--size", type=int, nargs="+", default=[64])
    patches.add_argument("--margin", type=float, default=0.1)

    summary = sub.add_parser("summary", help="summary table of a results folder")
    summary.add_argument("folder")

    from . import cli_data, cli_models

    cli_models.add_parsers(sub, _common)
    cli_data.add_parser(sub)

    args = parser.parse_args(argv)
    if args.command == cli_data.COMMAND:
        return cli_data.run(args)
    if args.command in cli_models.COMMANDS:
        return cli_models.run(args, _profile)
    if args.command == "train":
        alphas = None if args.alpha is None else [args.alpha]
        return _sweep(args, [args.variant], alphas, spectra=False)
    if args.command == "sweep":
        variants = args.variants.split(",") if args.variants else None
        return _sweep(args, variants, None, spectra=not args.no_spectra)
    if args.command == "plan":
        from .data import load_dataset
        from .study.estimate import describe, estimate

        profile = _profile(args)
        dataset = load_dataset(args.data)
        if args.print_folder:
            from .study.plan import study_dataset, study_folder

            weights = profile.weights if args.weights is None else args.weights
            weights = None if str(weights).lower() == "none" else weights
            print(study_folder(args.out, study_dataset(dataset, profile), profile, weights, create=False))
            return 0
        variants = args.variants.split(",") if args.variants else None
        est = estimate(dataset, profile, variants, spectra=not args.no_spectra, scheme=args.splits)
        print(f"{dataset.name}: {len(dataset)} images")
        print(describe(est, profile))
        return 0
    if args.command == "check":
        from .data.checks import main_check

        return main_check(args.path, multitask=args.multitask)
    if args.command == "patches":
        import time

        from .data import load_dataset
        from .data.patches import load_patches

        dataset = load_dataset(args.data)
        for size in args.size:
            start = time.perf_counter()
            ps = load_patches(dataset, size, args.margin)
            print(
                f"{dataset.name}: {len(ps.ids)} OA/HS patch pairs at {size} px in "
                f"{time.perf_counter() - start:.1f} s (cache key {ps.key})"
            )
        return 0
    if args.command == "summary":
        from .report import summarize
        from .study.results import load_results

        print(summarize(load_results(args.folder)))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
