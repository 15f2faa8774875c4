"""What to train, said once: a `python -m breastnet sweep` (or `train`) as one small record.

The book's build (`breastnet.book.build`) runs a request's `argv` in a process of its own, a
notebook prints the `shell` line of the runs it is about to train in its kernel, and the command
line parses its arguments back into the same record (`breastnet.cli.options.request_from_args`),
so the three cannot drift apart: `TrainRequest.argv` parsed by the command line gives the request
back (tests/test_request.py).
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from ..defaults import ENGINE, PROFILE, RESULTS, WORKERS
from ..model.variants import VARIANTS, family


@dataclass(frozen=True)
class TrainRequest:
    """One sweep of runs, as the command line takes it.

    Attributes:
        profile: profile name (`breastnet.train.profiles`).
        data: dataset path, or None ($BREASTNET_DATA, else the synthetic phantoms).
        out: the results root.
        variants: the Table 1 rows to train (None: the profile's).
        alpha: with one variant, its entropy weight (`train --variant V --alpha A`); None: a sweep.
        spectra: also the profile's alpha spectra.
        weights: backbone weights ("auto", "imagenet", "none", a file); None: the profile's.
        workers, engine: how the sweep trains (`breastnet.study.sweep.run_sweep`).
        quiet: no per-epoch lines.
    """

    profile: str = PROFILE
    data: str | None = None
    out: str = RESULTS
    variants: tuple[str, ...] | None = None
    alpha: float | None = None
    spectra: bool = True
    weights: str | None = None
    workers: int = WORKERS
    engine: str = ENGINE
    quiet: bool = False

    def __post_init__(self):
        if self.variants is not None:
            object.__setattr__(self, "variants", tuple(self.variants))
        if self.alpha is not None and (self.variants is None or len(self.variants) != 1):
            raise ValueError(f"an alpha ({self.alpha:g}) needs exactly one variant, not {self.variants}")
        if self.alpha is not None:
            object.__setattr__(self, "spectra", False)  # one variant at one alpha has no spectrum

    @property
    def command(self) -> str:
        """`train` (one variant at one alpha) or `sweep`."""
        return "train" if self.alpha is not None else "sweep"

    def argv(self) -> list[str]:
        """The arguments of `python -m breastnet` that train this request."""
        args = [self.command, "--profile", self.profile, "--out", str(self.out)]
        if self.data is not None:
            args += ["--data", str(self.data)]
        if self.command == "train":
            args += ["--variant", self.variants[0], "--alpha", f"{self.alpha:g}"]
        else:
            args += ["--variants", ",".join(self.variants)] if self.variants else []
            args += [] if self.spectra else ["--no-spectra"]
        if self.weights is not None:
            args += ["--weights", str(self.weights)]
        if self.workers != WORKERS:
            args += ["--workers", str(self.workers)]
        if self.engine != ENGINE:
            args += ["--engine", self.engine]
        return args + (["--quiet"] if self.quiet else [])

    def process(self, python: str | None = None) -> list[str]:
        """The whole command line of a process that trains it (this interpreter by default)."""
        return [python or sys.executable, "-m", "breastnet", *self.argv()]

    def shell(self, python: str | None = None) -> str:
        """The command as one shell line, naming this interpreter (the venv's Python)."""
        return shlex.join(self.process(python))


def page_requests(
    profile, out, data=None, variants=None, alphas=None, spectra=True, weights=None, workers=WORKERS
) -> list[TrainRequest]:
    """The requests that train what `run_sweep` plans with these arguments (a notebook page's runs).

    Without `alphas`: one sweep. With them, each (variant, alpha) that is a named variant (DSSL at
    0.25 is E-DSSL) goes to one sweep of those variants without spectra, any other to a `train` of
    its own.
    """
    base = dict(profile=profile.name, out=str(Path(out).resolve()), weights=weights, workers=workers)
    base["data"] = None if data is None else str(Path(data).resolve())
    if alphas is None:
        return [TrainRequest(variants=variants, spectra=spectra, **base)]
    named = {(family(name), float(v.alpha)): name for name, v in VARIANTS.items()}
    pairs = [(family(name), float(alpha), name) for name in variants or profile.variants for alpha in alphas]
    rows = list(dict.fromkeys(named[fam, alpha] for fam, alpha, _ in pairs if (fam, alpha) in named))
    requests = [TrainRequest(variants=rows, spectra=False, **base)] if rows else []
    requests += [
        TrainRequest(variants=(name,), alpha=alpha, **base) for fam, alpha, name in pairs if (fam, alpha) not in named
    ]
    return requests
