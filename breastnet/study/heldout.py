"""The held-out patients: a test set the networks never see, five times the size of the CV folds.

Three folds of the 312-image subset detect AUC differences of about 0.11-0.13 (the
corrected t with 2 degrees of freedom), while the paper's effects are +0.01 to +0.03. The
limited subset draws whole patients (`breastnet.data.splits.limited_subset`), so every image
of the other patients is a test set no network trained on: on BUS-BRA 1,563 images of 886
patients. The networks still train on the paper's 312 images; only the test set grows.

For the held-out protocol (`profile.heldout == "rest"`) each row of `profile.heldout_variants`
is trained on the whole study subset `profile.seeds` times (seed `profile.seed + s`) and tested
on every held-out image. The run sees one dataset, the study subset followed by the held-out
images (`HeldOut.data`), with a `Split` whose training part is the subset (less the inner
validation part, where the profile stops early) and whose test part is the held-out images:
the same computation as `breastnet.deploy.fit.fit_final` for seed 0, which is why the seed-0
networks are saved as the study's final models (`breastnet.deploy.evaluate` tests them on other
data; nothing is trained twice).

On the synthetic phantoms the study subset is the whole generated set, so the held-out set
is a fresh draw of `profile.heldout_draw` phantoms from another seed of the same generator
(same distribution; not the shifted external set). A profile without a subset, or a dataset
with no patient outside it, has no held-out set: the claims then rest on cross-validation alone.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

import numpy as np

from ..data.records import Dataset
from ..data.splits import Split, inner_validation
from ..data.synthetic import synthetic_dataset

#: The synthetic held-out draw's generator seed is the profile's seed plus this (the study's
#: phantoms use the profile's seed itself; the shifted external set is drawn with `phantoms --seed`).
SYNTHETIC_SEED_OFFSET = 100
#: Prefix of the ids and patients of the synthetic held-out draw (its generator numbers them as
#: the study's phantoms are numbered).
SYNTHETIC_PREFIX = "ho-"


@dataclass(frozen=True)
class HeldOut:
    """A study's held-out test set and the one dataset its runs see.

    Attributes:
        data: the study subset's records, then the held-out images' (`split` indexes it).
        split: train (and val) = the study subset, test = the held-out images; fold -1.
        name: the folder of its result files in the study folder, "heldout-<hash of its ids>".
        source: what the held-out images are, in words.
        n_study: images of the study subset (the first `n_study` records of `data`).
    """

    data: Dataset
    split: Split
    name: str
    source: str
    n_study: int

    @property
    def test_records(self) -> list:
        return [self.data.records[i] for i in self.split.test]

    def summary(self) -> dict:
        """Counts of the held-out images: images, patients, benign, malignant, and the source."""
        records = self.test_records
        return {
            "name": self.name,
            "source": self.source,
            "images": len(records),
            "patients": len({r.patient for r in records}),
            "benign": sum(r.pathology == 0 for r in records),
            "malignant": sum(r.pathology == 1 for r in records),
        }


def _prefixed(dataset: Dataset, prefix: str) -> Dataset:
    """The dataset with `prefix` before every id and patient (a second draw of the generator reuses both)."""
    records = [replace(r, id=prefix + r.id, patient=prefix + r.patient) for r in dataset.records]
    return replace(dataset, records=records, folds={})


def heldout_records(dataset, study, profile, cache_dir=None) -> tuple[list, str] | None:
    """The held-out images of a study and their description, or None when it has none.

    Args:
        dataset: the full dataset the study subset was drawn from.
        study: the study subset (`breastnet.study.plan.study_dataset`).
        profile: the profile (`heldout`, `subset`, `heldout_draw`, `seed`).
        cache_dir: where a synthetic draw is generated.
    """
    if profile.heldout == "none" or profile.subset is None:  # no subset rule: no patient outside it
        return None
    if dataset.synthetic:
        n_benign, n_malignant = profile.heldout_draw
        seed = profile.seed + SYNTHETIC_SEED_OFFSET
        draw = _prefixed(synthetic_dataset(n_benign, n_malignant, seed=seed, cache_dir=cache_dir), SYNTHETIC_PREFIX)
        return draw.records, (
            f"a fresh draw of {len(draw)} SYNTHETIC phantoms ({n_benign} benign, {n_malignant} malignant) "
            f"from seed {seed} of the same generator"
        )
    inside = {r.patient for r in study.records}
    rest = [r for r in dataset.records if r.patient not in inside]
    if not rest:
        return None
    return rest, f"every image of the {len({r.patient for r in rest})} {dataset.name} patients outside the study subset"


def heldout_set(dataset, study, profile, cache_dir=None) -> HeldOut | None:
    """The study's `HeldOut` (see the module docstring), or None when the profile or data have none."""
    found = heldout_records(dataset, study, profile, cache_dir)
    if found is None:
        return None
    rest, source = found
    clash = {r.id for r in rest} & {r.id for r in study.records}
    if clash:
        raise ValueError(f"held-out images share ids with the study subset, e.g. {sorted(clash)[:3]}")
    digest = hashlib.sha1("|".join(r.id for r in rest).encode()).hexdigest()[:8]
    data = Dataset(
        name=f"{study.name}+heldout-{digest}",
        root=study.root,
        layout=study.layout,
        records=list(study.records) + list(rest),
        problems=list(study.problems),
        synthetic=study.synthetic,
        citation=study.citation,
    )
    n = len(study)
    # Early stopping (where the profile has it) holds out the inner validation part fit_final holds out.
    val_fraction = profile.val_fraction if profile.patience is not None else 0.0
    train, val = inner_validation(data.records, np.arange(n), val_fraction, profile.seed)
    split = Split(fold=-1, repeat=0, train=train, val=val, test=np.arange(n, len(data)))
    return HeldOut(data=data, split=split, name=f"heldout-{digest}", source=source, n_study=n)


def heldout_seed(profile, s: int) -> int:
    """The training seed of held-out seed `s` (seed 0 is fit_final's: `profile.seed`)."""
    return int(profile.seed + s)
