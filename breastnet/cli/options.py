"""The options the training commands share, and what they parse into (`breastnet.study.request`)."""

from __future__ import annotations

from ..defaults import ENGINE, PROFILE, RESULTS, WORKERS, weights_option


def add_common(parser):
    """The options of every command that trains or plans (the profile's overrides, the engines)."""
    from ..train.profiles import CHOICES

    parser.add_argument(
        "--data",
        default=None,
        help="dataset path (BUS-BRA folder, BUSI folder or manifest CSV); "
        "default $BREASTNET_DATA, else the synthetic phantoms",
    )
    parser.add_argument("--profile", default=PROFILE, help=f"smoke, cpu, paper or test (default {PROFILE})")
    parser.add_argument("--out", default=RESULTS, help=f"results folder (default ./{RESULTS})")
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
        default=WORKERS,
        help="processes training at once, each on cores/workers CPU threads and whole "
        f"architectures (default {WORKERS}; 1: in this process)",
    )
    parser.add_argument(
        "--engine",
        choices=("local", "ray"),
        default=ENGINE,
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


def profile_from_args(args):
    """The profile of the common options: the named one with every override given."""
    from ..train.profiles import get_profile

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


def ray_options(args):
    """The Ray options of `run_sweep` (None for the local engine)."""
    if args.engine != "ray":
        if args.address is not None:
            raise SystemExit("--address needs --engine ray")
        return None
    return {
        "address": args.address,
        "cpus_per_worker": args.cpus_per_worker,
        "gpus_per_worker": args.gpus_per_worker,
    }


def request_from_args(args, variants=None, alpha=None, spectra=True):
    """The `TrainRequest` the parsed `train` / `sweep` arguments say (profile overrides aside)."""
    from ..study.request import TrainRequest

    return TrainRequest(
        profile=args.profile,
        data=args.data,
        out=args.out,
        variants=variants,
        alpha=alpha,
        spectra=spectra,
        weights=args.weights,
        workers=args.workers,
        engine=args.engine,
        quiet=args.quiet,
    )


def weights_of(args):
    """`--weights` as `run_sweep` and `fit_final` take it (`breastnet.defaults.weights_option`)."""
    return weights_option(args.weights)
