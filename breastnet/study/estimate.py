"""What a study costs before it runs: runs, image-epochs and a wall time from measured rates.

`python -m breastnet plan --profile paper` prints it. The rates are measurements, in
stream-images per second: one training image through one network stream for one epoch,
batch 16. A two-stream run costs two per image, Han et al.'s margin augmentation one per
margin. The estimate takes every run to the profile's maximum epochs (the `paper` profile
stops early, so most of its runs end sooner), CV and held-out runs alike; predicting the
held-out images is not counted.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model.backbones import input_size
from .plan import planned_heldout, planned_runs


@dataclass(frozen=True)
class Rate:
    """A measured training rate of one machine and backend at one patch size.

    `stream_images_per_s` is per process and all-in: tracing, re-initialisation, precise
    BatchNorm passes, validation and the test pass included. `processes` is how many of
    them the machine runs at once (`--workers`, or Ray actors).
    """

    device: str
    backend: str
    size: int
    stream_images_per_s: float | None  # None: not measured
    processes: int
    source: str


# Rates of one 2-core AMD EPYC with AVX2 only; an AVX-512 one ran the plain TensorFlow baseline
# 2.6x (64 px) to 3.1x (224 px) faster (benchmarks/LOG.md, 2026-12-01 backends on the CPU), so on
# a CPU like that one the estimate runs long.
CPU = "2-core CPU (AMD EPYC, AVX2)"
RATES = (
    # The cpu book on BUS-BRA: its network runs' stream-image-epochs over their process-seconds,
    # two one-thread processes at once (benchmarks/LOG.md, 2026-12-01 books with early stopping).
    Rate(CPU, "tensorflow", 64, 27.8, 2, "the cpu book on BUS-BRA, 2026-12-01"),
    # bench_training.py (`project`, one process, 2 threads): two-stream training images/s, divided by
    # 1.25 for evaluation, the 20 % that precise BN, validation and test took of a 64 px run
    # (benchmarks/LOG.md, 2026-11-30 bench_training at 224 px and two workers).
    Rate(CPU, "tensorflow", 224, 2 * 0.99 / 1.25, 1, "bench_training.py, 2026-11-30"),
    Rate("NVIDIA H200", "torch", 224, None, 1, "not measured: no GPU was lent to the sessions so far"),
)


@dataclass(frozen=True)
class Estimate:
    """The cost of a planned study."""

    runs: int
    runs_by_variant: dict
    work_by_size: dict  # patch size -> stream-image-epochs at the profile's maximum epochs
    rows: list  # (device, backend, hours or None, how the rates were found)

    @property
    def stream_image_epochs(self) -> int:
        return sum(self.work_by_size.values())


def hours_on(device: str, backend: str, work_by_size: dict):
    """Hours to train `work_by_size` on one measured machine, and how its rates were found.

    A size without a measurement of its own is scaled from the nearest measured size of
    that machine by pixel count (convolution cost grows with the pixels), and says so.
    """
    rates = {r.size: r for r in RATES if r.device == device and r.backend == backend}
    measured = {size: r.stream_images_per_s for size, r in rates.items() if r.stream_images_per_s}
    if not measured:
        return None, next(iter(rates.values())).source
    seconds, notes, used = 0.0, [], set()
    for size, work in sorted(work_by_size.items()):
        nearest = min(measured, key=lambda m: abs(m - size))
        rate = measured[nearest] * rates[nearest].processes * (nearest / size) ** 2
        if nearest != size:
            notes.append(f"{size} px scaled from {nearest} px")
        seconds += work / rate
        used.add(rates[nearest].source)
    sources = sorted(used)
    return seconds / 3600, "; ".join(sources + notes)


def estimate(dataset, profile, variants=None, alphas=None, spectra=True, scheme="cv") -> Estimate:
    """Runs and upper-bound wall time of the study `run_sweep` would train with these arguments."""
    study, splits, runs = planned_runs(dataset, profile, variants, alphas, spectra, scheme)
    heldout, ho_runs = planned_heldout(dataset, study, profile, variants, alphas, spectra)
    train_sizes = {(s.fold, s.repeat, None): len(s.train) for s in splits}
    train_sizes.update({(-1, spec.repeat, spec.heldout): len(heldout.split.train) for spec in ho_runs})
    runs = runs + ho_runs
    work: dict = {}
    for spec in runs:
        if spec.variant.learned:
            size = input_size(spec.variant, profile.size)
            per_image = len(spec.variant.streams) * max(1, len(spec.variant.margins))  # stream-images
            n_train = train_sizes[(spec.fold, spec.repeat, spec.heldout)]
            work[size] = work.get(size, 0) + n_train * per_image * profile.epochs
    by_variant: dict = {}
    for spec in runs:
        by_variant[spec.variant.name] = by_variant.get(spec.variant.name, 0) + 1
    machines = dict.fromkeys((r.device, r.backend) for r in RATES)
    rows = [(device, backend, *hours_on(device, backend, work)) for device, backend in machines]
    return Estimate(len(runs), by_variant, work, rows)


def describe(est: Estimate, profile) -> str:
    """The estimate as the `plan` command prints it."""
    sizes = ", ".join(f"{n:,} at {size} px" for size, n in sorted(est.work_by_size.items()))
    lines = [
        f"profile {profile.name}: {est.runs} runs "
        f"({', '.join(f'{name} {n}' for name, n in est.runs_by_variant.items())})",
        f"{est.stream_image_epochs:,} stream-image-epochs ({sizes}): training images x streams or margins "
        f"x {profile.epochs} epochs, "
        + (
            "every run's (no early stopping)"
            if profile.patience is None
            else "the maximum; early stopping ends most runs sooner"
        ),
        "estimated wall time at the measured rates (all-in: tracing, precise BN, validation, test):",
    ]
    for device, backend, hours, source in est.rows:
        if hours is None:
            when = "unknown"
        elif hours < 1:
            when = f"{hours * 60:.0f} min"
        else:
            when = f"{hours:,.1f} h" + (f" ({hours / 24:,.0f} days)" if hours >= 48 else "")
        lines.append(f"  {device}, {backend}: {when}  [{source}]")
    return "\n".join(lines)
