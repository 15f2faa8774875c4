"""Command line: `python -m breastnet {train,sweep,plan,check,patches,summary,fit,predict,evaluate,external,phantoms,
data}` (`data busbra`: download BUS-BRA)."""

from __future__ import annotations

import argparse

from . import data as data_command
from . import models
from .options import add_common, profile_from_args, ray_options, request_from_args, weights_of


def _sweep(args, request):
    """Train a `TrainRequest` (parsed from `args`) with the profile the other options say."""
    from ..data import load_dataset
    from ..report import summarize
    from ..study.sweep import run_sweep

    dataset = load_dataset(request.data)
    folder, results = run_sweep(
        dataset,
        profile_from_args(args),
        request.out,
        variants=None if request.variants is None else list(request.variants),
        alphas=None if request.alpha is None else [request.alpha],
        spectra=request.spectra,
        scheme=args.splits,
        weights=weights_of(args),
        verbose=0 if request.quiet else 2,
        workers=request.workers,
        engine=request.engine,
        ray_options=ray_options(args),
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
    add_common(train)
    train.add_argument(
        "--variant",
        default="E-DMTL",
        help="DSSL, E-DSSL, DSTL, E-DSTL, DMTL, E-DMTL, Inception, ResNet-50, Han2017, Descriptors (the floor)",
    )
    train.add_argument("--alpha", type=float, default=None, help="entropy weight (default: the variant's)")

    sweep = sub.add_parser("sweep", help="the profile's grid: Table 1 rows and alpha spectra")
    add_common(sweep)
    sweep.add_argument("--variants", default=None, help="comma-separated subset of variants")
    sweep.add_argument("--no-spectra", action="store_true", help="skip the alpha spectra")

    plan = sub.add_parser("plan", help="what a sweep would run: runs, image-epochs, estimated wall time")
    add_common(plan)
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

    models.add_parsers(sub)
    data_command.add_parser(sub)

    args = parser.parse_args(argv)
    if args.command == data_command.COMMAND:
        return data_command.run(args)
    if args.command in models.COMMANDS:
        return models.run(args)
    if args.command == "train":
        return _sweep(args, request_from_args(args, [args.variant], args.alpha, spectra=False))
    if args.command == "sweep":
        variants = args.variants.split(",") if args.variants else None
        return _sweep(args, request_from_args(args, variants, spectra=not args.no_spectra))
    if args.command == "plan":
        from ..data import load_dataset
        from ..study.estimate import describe, estimate

        profile = profile_from_args(args)
        dataset = load_dataset(args.data)
        if args.print_folder:
            from ..study.plan import study_dataset, study_folder

            weights = weights_of(args)
            weights = profile.weights if weights == "profile" else weights
            print(study_folder(args.out, study_dataset(dataset, profile), profile, weights, create=False))
            return 0
        variants = args.variants.split(",") if args.variants else None
        est = estimate(dataset, profile, variants, spectra=not args.no_spectra, scheme=args.splits)
        print(f"{dataset.name}: {len(dataset)} images")
        print(describe(est, profile))
        return 0
    if args.command == "check":
        from ..data.checks import main_check

        return main_check(args.path, multitask=args.multitask)
    if args.command == "patches":
        import time

        from ..data import load_dataset
        from ..data.patches import load_patches

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
        from ..report import summarize
        from ..study.results import load_results

        print(summarize(load_results(args.folder)))
        return 0
    return 2
