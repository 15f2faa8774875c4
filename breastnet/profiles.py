"""Profiles: every knob of a study's scale in one place.

The command line, the sweep and the notebooks all take a profile name.
`smoke` proves the pipeline in minutes (CI builds the whole book with it);
`cpu` is the whole study at reduced scale for two CPU cores; `paper` is the
paper's protocol (224 px, 5 folds x 10 repeats) for a GPU.
The alpha grids are ours: the paper plots them (Fig. 2a, 2b) without listing values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from .variants import TABLE1


@dataclass(frozen=True)
class Profile:
    """Scale of a study.

    Args:
        name: profile name.
        size: patch side in pixels (raised to a backbone's minimum where needed).
        margin: relative margin of the OA crop around the lesion.
        epochs: maximum epochs per run.
        patience: early-stopping patience on the inner validation loss.
        batch_size: training batch size.
        eval_batch_size: batch size of validation, test and feature extraction.
        folds: CV folds per repeat.
        repeats: CV repetitions with different shuffles.
        max_folds: train only the first N folds of each repeat (None: all); for quick looks.
        val_fraction: share of each training part held out for early stopping.
        subset: (benign, malignant) image counts of the limited-data subset, or None
            for the whole dataset.
        variants: Table 1 rows trained.
        alpha_small, alpha_large: alpha grids of Fig. 2a and 2b.
        spectrum_variants: variants whose alpha spectra are drawn.
        weights: "auto", "imagenet", None, or a weights file.
        run_eagerly: skip graph tracing (faster for a handful of steps).
        deterministic: turn on the backend's op determinism.
        seed: base seed of splits, subsets and initialisation.
    """

    name: str
    size: int = 64
    margin: float = 0.1
    epochs: int = 10
    patience: int = 3
    batch_size: int = 16
    eval_batch_size: int = 32
    folds: int = 5
    repeats: int = 1
    max_folds: int | None = None
    val_fraction: float = 0.2
    subset: tuple[int, int] | None = (150, 162)
    variants: tuple[str, ...] = tuple(TABLE1)
    alpha_small: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5)
    alpha_large: tuple[float, ...] = (0.0, 0.25, 1.0, 4.0)
    spectrum_variants: tuple[str, ...] = ("E-DSSL", "E-DSTL", "E-DMTL")
    weights: str | None = "auto"
    run_eagerly: bool = False
    deterministic: bool = True
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    def replace(self, **changes) -> "Profile":
        return replace(self, **changes)

    @property
    def alphas(self) -> tuple[float, ...]:
        return tuple(sorted(set(self.alpha_small) | set(self.alpha_large)))


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke", size=32, epochs=1, patience=1, batch_size=8, eval_batch_size=16,
        folds=2, repeats=1, val_fraction=0.25, subset=(12, 12),
        alpha_small=(0.0, 0.25), alpha_large=(0.0, 0.25, 2.0), run_eagerly=True),
    "cpu": Profile(
        name="cpu", size=64, epochs=5, patience=2, batch_size=16, eval_batch_size=64,
        folds=3, repeats=1, subset=(150, 162),
        alpha_small=(0.0, 0.1, 0.25), alpha_large=(0.0, 0.25, 1.0, 4.0)),
    "paper": Profile(
        name="paper", size=224, epochs=100, patience=10, batch_size=16, eval_batch_size=64,
        folds=5, repeats=10, subset=(150, 162),
        alpha_small=(0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5),
        alpha_large=(0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0), weights="auto"),
}


def get_profile(name: str, **overrides) -> Profile:
    """A profile by name, with optional field overrides (e.g. epochs=2)."""
    try:
        profile = PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown profile {name!r}; known: {', '.join(PROFILES)}") from None
    return profile.replace(**{k: v for k, v in overrides.items() if v is not None})
