"""What the notebooks of `notebooks/` share: their setup, and training in plain sight.

Every notebook starts with

    page = notebook.setup(data, profile, results)

(the profile, the dataset, its study subset, the figures' theme), and a page that shows
results names the training it may start:

    folder, results_ = page.train_missing_runs(variants=[variant], spectra=False)

When every planned run of the page has its result file, that only reads them and prints one
line. Otherwise it prints how many runs are missing, the command line that trains the same
runs from a terminal and a rough time, then trains them with `breastnet.study.sweep.run_sweep`,
whose progress (a line per finished run with the minutes left, Keras' per-epoch lines) shows
in JupyterLab. The book's build (`breastnet.book`) trains first and so only reads.

Keras is imported when the runs are planned (`breastnet.study.plan`), not before.
"""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from .model.variants import VARIANTS, family

#: Rough training seconds per unit of `breastnet.study.plan.run_cost` (one stream, one patch set)
#: of the `cpu` profile (64 px, 10 epochs) on two CPU cores: 55.6 s measured on BUS-BRA
#: (39 runs, one thread per process, two processes). Used when no run of the study has finished.
CPU_SECONDS_PER_UNIT = 55.0
#: Rough seconds a run costs besides its epochs (initial weights, evaluation, a share of the trace).
RUN_OVERHEAD_SECONDS = 10.0


@dataclass
class Plan:
    """The runs a page needs and which of them have a result file.

    Attributes:
        folder: the study folder (`breastnet.study.plan.study_folder`).
        runs: the planned RunSpecs, in plan order.
        done: file name -> result dict (with its "path") of the runs that have a valid result.
    """

    folder: Path
    runs: list
    done: dict = field(default_factory=dict)
    heldout: object = None  # the study's `HeldOut` (`breastnet.study.heldout`), or None

    @property
    def missing(self) -> list:
        """The RunSpecs without a valid result file, in plan order."""
        return [spec for spec in self.runs if spec.filename not in self.done]

    @property
    def results(self) -> list[dict]:
        """The result dicts of the finished CV runs, in plan order (what `run_sweep` returns)."""
        return [self.done[s.filename] for s in self.runs if s.filename in self.done and s.heldout is None]

    @property
    def heldout_results(self) -> list[dict]:
        """The result dicts of the finished held-out runs, in plan order."""
        return [self.done[s.filename] for s in self.runs if s.filename in self.done and s.heldout is not None]


def rough_minutes(plan: Plan, profile) -> tuple[float, str]:
    """A rough training time of `plan.missing`, and where it comes from.

    The time per unit of work (`run_cost`: streams x patch sets) is that of the plan's finished
    network runs when there are some, else CPU_SECONDS_PER_UNIT scaled to the profile's epochs and
    patch area, plus RUN_OVERHEAD_SECONDS a run. The descriptor floor (no stream) takes seconds.
    """
    from .study.plan import run_cost

    finished = [spec for spec in plan.runs if spec.filename in plan.done and run_cost(spec)]
    units = sum(run_cost(spec) for spec in finished)
    if units:
        seconds = sum(plan.done[spec.filename]["training"]["seconds"]["total"] for spec in finished)
        per_unit, source = seconds / units, f"from the {len(finished)} finished runs of this study"
    else:
        per_unit = CPU_SECONDS_PER_UNIT * profile.epochs / 10 * (profile.size / 64) ** 2 + RUN_OVERHEAD_SECONDS
        source = "a guess for two CPU cores, scaled from the cpu profile"
    return sum(run_cost(spec) for spec in plan.missing) * per_unit / 60, source


def sweep_commands(profile, out, data=None, variants=None, alphas=None, spectra=True) -> list[str]:
    """The command lines (`python -m breastnet ...`) that train the runs `run_sweep` plans with these arguments.

    Without `alphas`: one `sweep`. With them, each (variant, alpha) that is a named variant (DSSL at
    0.25 is E-DSSL) goes to one `sweep --variants ... --no-spectra`, any other to a `train --variant V
    --alpha A` of its own.
    """
    base = ["--profile", profile.name, "--out", str(Path(out).resolve())]
    if data is not None:
        base += ["--data", str(Path(data).resolve())]
    sweep, train = ["python", "-m", "breastnet", "sweep", *base], ["python", "-m", "breastnet", "train", *base]
    if alphas is None:
        chosen = ["--variants", ",".join(variants)] if variants else []
        return [shlex.join(sweep + chosen + ([] if spectra else ["--no-spectra"]))]
    named = {(family(name), float(v.alpha)): name for name, v in VARIANTS.items()}
    pairs = [(family(name), float(alpha), name) for name in variants or profile.variants for alpha in alphas]
    rows = list(dict.fromkeys(named[fam, alpha] for fam, alpha, _ in pairs if (fam, alpha) in named))
    commands = [sweep + ["--variants", ",".join(rows), "--no-spectra"]] if rows else []
    commands += [
        train + ["--variant", name, "--alpha", f"{alpha:g}"] for fam, alpha, name in pairs if (fam, alpha) not in named
    ]
    return [shlex.join(command) for command in commands]


@dataclass
class Page:
    """What a notebook works with: its parameters, the profile and the dataset (see `setup`)."""

    data: str | None
    profile: object
    dataset: object
    results: str

    @cached_property
    def study(self):
        """The data the profile trains on (the limited-data subset; `breastnet.study.plan.study_dataset`)."""
        from .study.plan import study_dataset

        return study_dataset(self.dataset, self.profile)

    def plan(self, variants=None, alphas=None, spectra=True) -> Plan:
        """The runs `run_sweep` would plan with these arguments (the CV runs of
        `breastnet.study.plan.plan_runs`, then the held-out runs of `plan_heldout`), and the result
        files of those that are done; trains nothing."""
        from .study.plan import finished_results, planned_heldout, planned_runs, study_folder

        study, _, runs = planned_runs(self.dataset, self.profile, variants, alphas, spectra)
        heldout, ho_runs = planned_heldout(self.dataset, study, self.profile, variants, alphas, spectra)
        plan = Plan(study_folder(self.results, study, self.profile, self.profile.weights), runs + ho_runs)
        plan.heldout = heldout
        plan.done.update(finished_results(plan.folder, plan.runs))
        return plan

    def train_missing_runs(self, variants=None, alphas=None, spectra=True, verbose=2, workers=1, log=print):
        """Train the runs of this page that have no result file yet, then return every run's result.

        Nothing missing: reads the results and logs one line. Otherwise logs how many runs are
        missing, the equivalent command line (`sweep_commands`) and a rough time (`rough_minutes`),
        then trains them with `breastnet.study.sweep.run_sweep`, which logs a line per finished run.

        Args:
            variants, alphas, spectra: what to run, as for `run_sweep` (None: the profile's).
            verbose: Keras' fit verbosity while training (2: a line per epoch).
            workers: training processes (see `run_sweep`).
            log: where the lines go.

        Returns:
            (folder, results): the study folder and the result dicts of the planned CV runs, in plan
            order (the held-out runs' results: `heldout_results`).
        """
        plan = self.plan(variants, alphas, spectra)
        missing = plan.missing
        if not missing:
            log(f"All {len(plan.runs)} runs of this page are done: read from {plan.folder}")
            return plan.folder, plan.results
        minutes, source = rough_minutes(plan, self.profile)
        commands = sweep_commands(self.profile, self.results, self.data, variants, alphas, spectra)
        rough = f"roughly {minutes:.0f} min" if minutes >= 1 else "under a minute"
        log(
            f"TRAINING: {len(missing)} of the {len(plan.runs)} runs of this page have no result file in "
            f"{plan.folder}; training them now, {rough} ({source}). Interrupt the kernel "
            f"to stop: finished runs are kept. The same from a terminal:\n  " + "\n  ".join(commands)
        )
        from .study.sweep import run_sweep

        return run_sweep(
            self.dataset,
            self.profile,
            self.results,
            variants=variants,
            alphas=alphas,
            spectra=spectra,
            verbose=verbose,
            log=log,
            workers=workers,
        )

    def heldout_results(self, variants=None, alphas=None, spectra=True) -> tuple[object, list[dict]]:
        """(HeldOut or None, the finished held-out runs' results) of these arguments; trains nothing
        (`train_missing_runs` with the same arguments trains what is missing)."""
        plan = self.plan(variants, alphas, spectra)
        return plan.heldout, plan.heldout_results

    def external_results(self, external, log=print) -> list[dict]:
        """External validation (`breastnet.study.external.run_external`), visibly.

        Reads the final models and external results already in the study folder; what is
        missing is trained and evaluated now, after a line naming the equivalent command.

        Args:
            external: the external dataset's path.
            log: where the lines go.

        Returns:
            The external result dicts (Table 1's two-stream rows, then the floor).
        """
        from .data.load import load_dataset
        from .study.external import run_external

        command = f"python -m breastnet external --profile {self.profile.name} --out {self.results} "
        command += (f"--data {self.data} " if self.data else "") + f"--external {external}"
        log(
            f"External validation on {external}: final models are read when present, else trained now "
            f"(a few minutes each on a CPU). The same from a terminal:\n  {command}"
        )
        return run_external(self.dataset, load_dataset(external), self.profile, self.results, log=log)


def timings_frame(path):
    """The notebook execution times `breastnet.book` writes (a DataFrame: notebook, seconds), or None
    when `path` is None or not a file (a notebook run by hand)."""
    if not path or not Path(path).is_file():
        return None
    import pandas as pd

    return pd.DataFrame(json.loads(Path(path).read_text()))


def setup(data, profile: str, results) -> Page:
    """The setup of every notebook: quiet TensorFlow, the figures' theme, the profile, the dataset.

    Args:
        data: dataset path; None: $BREASTNET_DATA, else the SYNTHETIC phantoms.
        profile: profile name (`breastnet.train.profiles`).
        results: results root folder (finished runs there are read, not trained again).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
    import matplotlib
    import matplotlib.pyplot as plt
    import seaborn as sns

    from .data.load import load_dataset
    from .train.profiles import get_profile

    sns.set_theme(style="whitegrid", context="notebook")
    # pyplot loads its backend at the first pyplot figure; the report's figures never go through pyplot, so
    # load it now: in Jupyter, the inline backend is what makes display() and glue() show a Figure as an image.
    plt.switch_backend(matplotlib.get_backend())
    return Page(data, get_profile(profile), load_dataset(data), results)
