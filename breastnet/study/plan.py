"""What a study runs: its data, its splits, its runs, and where their files go.

A run is identified by (dataset, profile settings, backend, weights) -> a study
folder, and by (family, alpha, repeat, fold) -> a file in it. E-DMTL at
alpha 0.25 and DMTL's alpha spectrum point 0.25 are the same run and share
one file. Runs are ordered so that those sharing a compiled model follow each
other, and cut into blocks (one architecture each) for the workers of `sweep`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import keras

from ..data.splits import cv_splits, limited_subset, official_splits
from ..model.variants import family
from .results import _atomic_write_bytes, valid_result


@dataclass(frozen=True)
class RunSpec:
    """One run to do: variant (with its alpha), fold, repeat, seed.

    A held-out run (`heldout` names its held-out set's folder, `breastnet.study.heldout`) trains
    on the whole study subset and tests on the held-out images: its fold is -1 and its repeat
    is the seed index s.
    """

    variant: object
    fold: int
    repeat: int
    seed: int
    heldout: str | None = None

    @property
    def filename(self) -> str:
        stem = f"{family(self.variant.name)}_a{self.variant.alpha:g}"
        if self.heldout is not None:
            return f"{self.heldout}/{stem}_s{self.repeat}.json"
        return f"{stem}_r{self.repeat}_f{self.fold}.json"

    def label(self) -> str:
        if self.heldout is not None:
            return f"{self.variant.name} alpha={self.variant.alpha:g} held-out seed {self.repeat}"
        return f"{self.variant.name} alpha={self.variant.alpha:g} repeat {self.repeat} fold {self.fold}"


def study_dataset(dataset, profile):
    """The data a profile trains on: the limited-data subset when the profile asks for one."""
    if profile.subset is None:
        return dataset
    n_benign, n_malignant = profile.subset
    summary = dataset.summary()
    if summary["benign"] == n_benign and summary["malignant"] == n_malignant:
        return dataset
    return limited_subset(dataset, n_benign, n_malignant, seed=profile.seed)


def study_folder(out, dataset, profile, weights, create: bool = True) -> Path:
    """Folder of a study: dataset name / profile name + hash of everything that changes numbers.

    With `create` (the sweep), the folder and its study.json are made if missing.
    """
    knobs = profile.to_dict()
    for k in ("variants", "alpha_small", "alpha_large", "spectrum_variants", "max_folds"):
        knobs.pop(k)  # these choose which runs exist, not what a run computes
    for k in ("heldout", "seeds", "heldout_variants", "heldout_spectra", "heldout_draw", "transfer_variants"):
        knobs.pop(k)  # likewise (the held-out set has a folder of its own, named by its images)
    if knobs.get("backbone") is None:
        knobs.pop("backbone", None)  # added later: unset, it keeps older studies' folders
    if knobs.get("precision") == "float32":
        knobs.pop("precision")  # likewise
    if knobs.get("weight_ema") is None:
        knobs.pop("weight_ema", None)  # likewise
    if knobs.get("optimizer") == "sgd":
        knobs.pop("optimizer")  # likewise: every study before the field trained with SGD
    if knobs.get("lr_schedule") == "inverse_time":
        knobs.pop("lr_schedule")  # likewise
    ident = {
        "profile": knobs,
        "weights": str(weights),
        "backend": keras.backend.backend(),
        "dataset": dataset.name,
        "ids": hashlib.sha1("|".join(r.id for r in dataset.records).encode()).hexdigest(),
    }
    digest = hashlib.sha1(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:8]
    folder = Path(out) / dataset.name / f"{profile.name}-{digest}"
    if not create:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    info = folder / "study.json"
    if not info.exists():
        _atomic_write_bytes(info, json.dumps(ident, indent=1).encode())
    return folder


def plan_runs(profile, variants=None, alphas=None, spectra=True, splits=None) -> list[RunSpec]:
    """The runs of a study, without duplicates.

    Args:
        profile: the profile.
        variants: variant names (default: the profile's Table 1 rows).
        alphas: if given, every variant is run at each of these alphas instead of its own.
        spectra: also plan the alpha spectra of `profile.spectrum_variants`.
        splits: the Split list (gives folds and repeats).
    """
    wanted = []
    for name in variants or profile.variants:
        for alpha in alphas if alphas is not None else [None]:
            wanted.append(profile.variant(name, alpha))
    if spectra and alphas is None:
        for name in profile.spectrum_variants:
            wanted.extend(profile.variant(name, a) for a in profile.alphas)
    if profile.max_folds is not None:
        splits = [s for s in splits if s.fold < profile.max_folds]
    runs, seen = [], set()
    for variant in wanted:
        for split in splits:
            spec = RunSpec(variant, split.fold, split.repeat, profile.seed + 1000 * split.repeat + split.fold)
            if spec.filename not in seen:
                seen.add(spec.filename)
                runs.append(spec)
    return runs


def plan_heldout(profile, heldout_name: str, variants=None, alphas=None, spectra=True) -> list[RunSpec]:
    """The held-out runs of a study: each wanted row x `profile.seeds` seeds, without duplicates.

    Args:
        profile: the profile.
        heldout_name: the held-out set's folder (`breastnet.study.heldout.HeldOut.name`).
        variants: variant names (default: the profile's `heldout_variants`); only those among
            the profile's `heldout_variants` get held-out runs.
        alphas: if given, every variant at each of these alphas instead of its own.
        spectra: also the alpha spectra of `spectrum_variants` when `heldout_spectra` is set.
    """
    from .heldout import heldout_seed

    names = [n for n in (variants or profile.heldout_variants) if n in profile.heldout_variants]
    wanted = [profile.variant(n, a) for n in names for a in (alphas if alphas is not None else [None])]
    if spectra and alphas is None and profile.heldout_spectra:
        for name in profile.spectrum_variants:
            wanted.extend(profile.variant(name, a) for a in profile.alphas)
    runs, seen = [], set()
    for variant in wanted:
        for s in range(profile.seeds):
            spec = RunSpec(variant, -1, s, heldout_seed(profile, s), heldout=heldout_name)
            if spec.filename not in seen:
                seen.add(spec.filename)
                runs.append(spec)
    return runs


def order_for_reuse(runs, architecture_key) -> list[RunSpec]:
    """Runs grouped by architecture, then the CV runs by (repeat, fold), then the held-out runs by
    seed, keeping the plan's order otherwise.

    Within one architecture a run's initial weights depend only on its seed, i.e. on its
    (repeat, fold): in this order the trainer builds each seed's initial weights once
    and keeps only the last ones. A held-out run follows the CV runs of its architecture, so
    the model card of a final model (held-out seed 0) quotes the CV runs of its configuration.

    Args:
        runs: RunSpecs in plan order.
        architecture_key: variant -> what makes two variants share a compiled model.
    """
    first_seen: dict = {}
    for spec in runs:
        first_seen.setdefault(architecture_key(spec.variant), len(first_seen))
    return sorted(
        runs,
        key=lambda spec: (first_seen[architecture_key(spec.variant)], spec.heldout is not None, spec.repeat, spec.fold),
    )


def make_splits(dataset, profile, scheme: str = "cv"):
    """CV splits of a profile: "cv" (repeated StratifiedGroupKFold) or "official" (BUS-BRA's)."""
    if scheme == "official":
        return official_splits(dataset, profile.folds, seed=profile.seed, val_fraction=profile.val_fraction)
    return cv_splits(dataset.records, profile.folds, profile.repeats, profile.seed, profile.val_fraction)


def variant_cost(variant, heldout: bool = False) -> float:
    """Relative training work of a run of `variant`: streams x training patch sets (Han's margins);
    a held-out run trains on the whole subset, 1.5 times a 3-fold CV run's training part."""
    return len(variant.streams) * max(1, len(variant.margins)) * (1.5 if heldout else 1)


def run_cost(spec: RunSpec) -> float:
    """`variant_cost` of a planned run."""
    return variant_cost(spec.variant, spec.heldout is not None)


def architecture_blocks(runs, architecture_key) -> list[list[RunSpec]]:
    """The runs cut into one list per architecture (order kept), the most work first.

    A block is what one worker process trains: its architecture is traced once, there.

    Args:
        runs: RunSpecs in `order_for_reuse` order.
        architecture_key: variant -> what makes two variants share a compiled model.
    """
    blocks: dict = {}
    for spec in runs:
        blocks.setdefault(architecture_key(spec.variant), []).append(spec)
    return sorted(blocks.values(), key=lambda block: -sum(run_cost(spec) for spec in block))


def planned_runs(dataset, profile, variants=None, alphas=None, spectra=True, scheme: str = "cv"):
    """What a sweep with these arguments runs: (study data, splits, runs).

    The one place that decides it: `run_sweep` trains these runs, and the notebooks'
    `Page.plan` reads their results.
    """
    data = study_dataset(dataset, profile)
    splits = make_splits(data, profile, scheme)
    return data, splits, plan_runs(profile, variants, alphas, spectra, splits)


def planned_heldout(dataset, study, profile, variants=None, alphas=None, spectra=True, cache_dir=None):
    """The held-out set of a study and its runs with these arguments: (HeldOut, runs), or (None, []).

    Args:
        dataset: the full dataset; study: its study subset (`planned_runs`' first value).
        profile, variants, alphas, spectra: see `plan_heldout`.
        cache_dir: where a synthetic held-out draw is generated.
    """
    from .heldout import heldout_set

    heldout = heldout_set(dataset, study, profile, cache_dir)
    if heldout is None:
        return None, []
    return heldout, plan_heldout(profile, heldout.name, variants, alphas, spectra)


def finished_results(folder, runs) -> dict:
    """{file name: result} of the runs whose result file is valid (a corrupt one is set aside)."""
    done = {}
    for spec in runs:
        result = valid_result(Path(folder) / spec.filename)
        if result is not None:
            result["path"] = str(Path(folder) / spec.filename)
            done[spec.filename] = result
    return done
