"""Profiles: every knob of a study's scale in one place.

The command line, the sweep and the notebooks all take a profile name.
`smoke` proves the pipeline in minutes (CI builds the whole book with it);
`cpu` is the whole study at reduced scale for two CPU cores; `paper` is the
paper's protocol (224 px, 5 folds x 10 repeats) for a GPU; `test` is `smoke` with
every network's backbone replaced by a two-convolution stand-in, for the fast tests.
The alpha grids are ours: the paper plots them (Fig. 2a, 2b) without listing values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from ..defaults import WEIGHTS
from ..model.variants import STUDY_ROWS, Variant, get_variant

# The values a profile's text fields may take (the command line offers the same).
CHOICES = {
    "crop": ("pad", "stretch"),
    "monitor": ("val_ce", "val_auc", "val_loss"),
    "bn_stats": ("precise", "moving"),
    "precision": ("float32", "mixed_bfloat16", "mixed_float16"),
    "optimizer": ("sgd", "adam"),
    "lr_schedule": ("inverse_time", "cosine"),
    "heldout": ("rest", "none"),
}

#: The claims' six variants and the floor: the rows every held-out test set trains (the paper's
#: baselines join them where the profile says so).
CLAIM_ROWS = ("DSSL", "E-DSSL", "DSTL", "E-DSTL", "DMTL", "E-DMTL", "Descriptors")


@dataclass(frozen=True)
class Profile:
    """Scale of a study.

    Args:
        name: profile name.
        size: patch side in pixels (raised to a backbone's minimum where needed).
        margin: relative margin of the OA crop around the lesion.
        crop: how the lesion box becomes a square patch: "pad" (keeps the lesion's
            width/height ratio) or "stretch" (see `breastnet.data.patches`).
        epochs: maximum epochs per run (every run's epochs when `patience` is None).
        patience: early-stopping patience (epochs without improvement of `monitor`), or None:
            no early stopping, as in the paper; every run trains `epochs` epochs and is tested
            with its last epoch's weights (the validation part, if any, is still evaluated
            after each epoch, for the learning curves and the result files).
        min_epochs: epochs trained before early stopping may pick or stop (Keras'
            `start_from_epoch`): the first epochs' near-uniform outputs are never kept.
        monitor: early-stopping criterion on the inner validation part: "val_ce" (plain
            cross-entropy, without the alpha term), "val_auc", or "val_loss" (the
            training objective CE - alpha*H [+ MSE], which rewards uncertain outputs).
        bn_stats: BatchNorm statistics used for every evaluation: "precise" (mean and
            variance of each BN layer's inputs re-estimated over the run's training
            images before each evaluation) or "moving" (Keras' moving averages).
        bn_momentum: momentum of the backbones' BN moving averages (Keras: 0.99).
        optimizer: "sgd" (the paper's: momentum 0.9, decay 1e-6 per update) or "adam"
            (Keras' Adam; not in the paper).
        learning_rate: the optimiser's initial learning rate (paper: 1e-3).
        lr_schedule: "inverse_time" (the paper's SGD decay of 1e-6 per update, in effect a
            constant rate; Adam: constant) or "cosine" (the rate of epoch e of E is
            learning_rate * (1 + cos(pi * e / E)) / 2, set at the start of each epoch by Keras'
            `LearningRateScheduler`: it ends near 0, so the last epoch's weights, which are
            tested, are a settled point of the run rather than a step of a noisy walk). Not in
            the paper.
        weight_ema: momentum of an exponential moving average of the trainable weights
            (Polyak averaging, Keras' optimizer option `use_ema`), or None. When set, each
            epoch's validation, early stopping's choice, the test pass and the features use
            the averaged weights; training itself is unchanged. Not in the paper.
        batch_size: training batch size.
        eval_batch_size: batch size of validation, test and feature extraction.
        folds: CV folds per repeat.
        repeats: CV repetitions with different shuffles.
        max_folds: train only the first N folds of each repeat (None: all); for quick looks.
        val_fraction: share of each training part held out for early stopping (0: none; the
            whole training part trains, as in the `cpu` profile, which does not stop early).
        subset: (benign, malignant) image counts of the limited-data subset, or None
            for the whole dataset.
        variants: Table 1 rows trained.
        alpha_small, alpha_large: alpha grids of Fig. 2a and 2b.
        spectrum_variants: variants whose alpha spectra are drawn.
        weights: "auto", "imagenet", None, or a weights file.
        run_eagerly: skip graph tracing (faster for a handful of steps).
        deterministic: turn on the backend's op determinism.
        seed: base seed of splits, subsets and initialisation.
        curve_variant: the variant whose first run (repeat 0, fold 0) also records test
            AUC per epoch with both moving and precise BN statistics (the book's
            learning-curve figure); None: no run does.
        precision: Keras dtype policy of the networks: "float32", or "mixed_bfloat16" /
            "mixed_float16" (compute in 16 bits, variables and the output heads in float32)
            for GPUs; recorded in every result.
        backbone: None (each variant's own backbone), or a key of
            `breastnet.model.backbones.BACKBONES` that replaces every network's backbone
            ("tiny" in the `test` profile). Recorded in every result (config.variant.backbone).
        heldout: the held-out test protocol (`breastnet.study.heldout`), not in the paper:
            "rest" trains each of `heldout_variants` on the whole study subset `seeds` times and
            tests it on every image of the patients outside the subset (on the synthetic
            phantoms: a fresh draw of `heldout_draw` images from another seed of the generator);
            "none": the claims rest on cross-validation alone. A profile without a subset has
            no patients outside it, hence no held-out set.
        seeds: R, the training seeds of each held-out row (seed s is `seed + s`; seed 0 is the
            final model that `external` tests on other data).
        heldout_variants: the rows trained for the held-out test set.
        heldout_spectra: also train the alpha spectra of `spectrum_variants` for the held-out set.
        heldout_draw: (benign, malignant) images of the synthetic held-out draw.
        transfer_variants: where the networks start from ImageNet, these rows are also trained
            from random initialisation (CV and held-out), for the transfer question
            (`breastnet.report.transfer`).
    """

    name: str
    size: int = 64
    margin: float = 0.1
    crop: str = "pad"
    epochs: int = 10
    patience: int | None = 3
    min_epochs: int = 1
    monitor: str = "val_ce"
    bn_stats: str = "precise"
    bn_momentum: float = 0.99
    optimizer: str = "sgd"
    learning_rate: float = 1e-3
    lr_schedule: str = "inverse_time"
    weight_ema: float | None = None
    batch_size: int = 16
    eval_batch_size: int = 32
    folds: int = 5
    repeats: int = 1
    max_folds: int | None = None
    val_fraction: float = 0.2
    subset: tuple[int, int] | None = (150, 162)
    variants: tuple[str, ...] = tuple(STUDY_ROWS)
    alpha_small: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5)
    alpha_large: tuple[float, ...] = (0.0, 0.25, 1.0, 4.0)
    spectrum_variants: tuple[str, ...] = ("E-DSSL", "E-DSTL", "E-DMTL")
    weights: str | None = WEIGHTS
    run_eagerly: bool = False
    deterministic: bool = True
    seed: int = 0
    curve_variant: str | None = "DSTL"
    backbone: str | None = None
    precision: str = "float32"
    heldout: str = "rest"
    seeds: int = 3
    heldout_variants: tuple[str, ...] = CLAIM_ROWS
    heldout_spectra: bool = False
    heldout_draw: tuple[int, int] = (1118, 445)
    transfer_variants: tuple[str, ...] = ("DSTL", "E-DMTL")

    def __post_init__(self):
        for field, allowed in CHOICES.items():
            if getattr(self, field) not in allowed:
                raise ValueError(
                    f"profile {self.name!r}: {field} must be one of {allowed}, not {getattr(self, field)!r}"
                )
        if self.patience is not None and self.patience < 1:
            raise ValueError(
                f"profile {self.name!r}: patience must be None (no early stopping) or >= 1, not {self.patience!r}"
            )
        if self.patience is not None and not 0.0 < self.val_fraction < 1.0:
            raise ValueError(
                f"profile {self.name!r}: early stopping (patience {self.patience}) needs a validation part: "
                f"val_fraction must be in (0, 1), not {self.val_fraction!r}; or set patience None"
            )
        if self.seeds < 1:
            raise ValueError(f"profile {self.name!r}: seeds must be >= 1, not {self.seeds!r}")
        if self.weight_ema is not None and not 0.0 < self.weight_ema < 1.0:
            raise ValueError(f"profile {self.name!r}: weight_ema must be None or in (0, 1), not {self.weight_ema!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    def replace(self, **changes) -> Profile:
        return replace(self, **changes)

    @property
    def alphas(self) -> tuple[float, ...]:
        return tuple(sorted(set(self.alpha_small) | set(self.alpha_large)))

    def variant(self, name: str, alpha: float | None = None) -> Variant:
        """A Table 1 row as this profile trains it: `get_variant`, with the profile's backbone if set."""
        variant = get_variant(name, alpha)
        if self.backbone is not None and variant.learned:
            variant = replace(variant, backbone=self.backbone)
        return variant


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        size=32,
        epochs=1,
        patience=1,
        batch_size=8,
        eval_batch_size=16,
        folds=2,
        repeats=1,
        val_fraction=0.25,
        subset=(12, 12),
        alpha_small=(0.0, 0.25),
        alpha_large=(0.0, 0.25, 2.0),
        run_eagerly=True,
        seeds=2,
        heldout_draw=(24, 24),
    ),
    # cpu: 10 epochs without early stopping, as the paper trains: on BUS-BRA the epoch that early
    # stopping picked on the ~40-image validation part tested worse than the tenth (benchmarks/LOG.md,
    # 2026-12-02 early stopping against a fixed budget). With nothing to stop on, no validation part
    # is held out (`val_fraction` 0): the networks train on every image of the training fold, as the
    # descriptor floor and the final models do; no measured gain, only no measured harm (LOG.md,
    # 2026-12-03 training on the validation part). The paper's SGD: a whole BUS-BRA book with Adam
    # gave the two-stream rows the same mean test AUC (LOG.md, 2026-12-03 Adam against SGD). One
    # alpha spectrum (E-DMTL) keeps the BUS-BRA book near an hour on a 2-core AMD EPYC with AVX-512
    # (LOG.md, 2026-12-08 BUS-BRA book); on an AVX2-only one the book took more than twice as long
    # as on an AVX-512 one (LOG.md, 2026-12-03 BUS-BRA book on AMD EPYC AVX2).
    "cpu": Profile(
        name="cpu",
        size=64,
        epochs=10,
        patience=None,
        batch_size=16,
        eval_batch_size=64,
        folds=3,
        repeats=1,
        val_fraction=0.0,
        subset=(150, 162),
        spectrum_variants=("E-DMTL",),
        alpha_small=(0.0, 0.1, 0.25),
        alpha_large=(0.0, 0.25, 1.0, 4.0),
    ),
    "paper": Profile(
        name="paper",
        size=224,
        epochs=100,
        patience=10,
        min_epochs=10,
        batch_size=16,
        eval_batch_size=64,
        folds=5,
        repeats=10,
        subset=(150, 162),
        alpha_small=(0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5),
        alpha_large=(0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0),
        weights=WEIGHTS,
        seeds=10,
        heldout_variants=tuple(STUDY_ROWS),
        heldout_spectra=True,
    ),
}

# test: the smoke book's plan on a stand-in backbone (two epochs, no weights to fetch); the
# fast tests run sweeps with it.
PROFILES["test"] = PROFILES["smoke"].replace(name="test", epochs=2, patience=2, weights=None, backbone="tiny")


def get_profile(name: str, **overrides) -> Profile:
    """A profile by name, with optional field overrides (e.g. epochs=2)."""
    try:
        profile = PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown profile {name!r}; known: {', '.join(PROFILES)}") from None
    return profile.replace(**{k: v for k, v in overrides.items() if v is not None})
