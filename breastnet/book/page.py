"""What the notebooks of `notebooks/` share: their setup, and training in plain sight.

Every notebook starts with

    page = setup(data, profile, results)

(the profile, the dataset, its study subset, the figures' theme). Left at None, as in the
templates, the parameters are those of the last `make book` into the results folder
(`breastnet.defaults.last_build`), so a notebook opened in JupyterLab after a build reads that
build's results. A page that shows results names the training it may start:

    folder, results_ = page.train_missing_runs(variants=[variant], spectra=False)

When every planned run of the page has its result file, that only reads them and prints one
line. Otherwise it prints how many runs are missing, the command line that trains the same
runs from a terminal (`breastnet.study.request`, naming this Python) and a rough time, then
trains them with `breastnet.study.sweep.run_sweep`, whose progress (a line per finished run
with the minutes left, Keras' per-epoch lines) shows in JupyterLab. The book's build
(`breastnet.book.build`) trains first and so only reads.

Text and figures the book shows through MyST's glue (`glue`) are also shown in the notebook
itself when it is not run by the book's build: JupyterLab does not render `{glue:text}` roles,
so a student reads the same sentence, with its numbers, under the cell.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ..defaults import BUILD_FILE, NOTEBOOK_WORKERS, PROFILE, last_build, results_dir

#: Set by the book's build while it runs the notebooks (`breastnet.book.build.run_notebooks`).
BOOK_BUILD_ENV = "BREASTNET_BOOK_BUILD"


def in_book() -> bool:
    """Whether the book's build is running this notebook (else a person is, in JupyterLab)."""
    return os.environ.get(BOOK_BUILD_ENV) == "1"


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


def rough_minutes(plan: Plan, study_results=(), estimated=None) -> tuple[float, str]:
    """A rough training time of `plan.missing`, and where it comes from.

    The time per unit of work (`breastnet.study.plan.variant_cost`: streams x patch sets) is that
    of the study's finished network runs (`study_results`: every result in the study folder) when
    there are some; else the share of `estimated` (`breastnet.study.estimate.estimate` of the
    page's whole plan, from measured rates) that the missing runs make up. The descriptor floor
    (no stream) takes seconds.
    """
    from ..model.variants import get_variant
    from ..study.plan import run_cost, variant_cost

    def cost(result):
        return variant_cost(get_variant(result["run"]["family"]), result["run"].get("kind") == "heldout")

    timed = [r for r in study_results if r.get("training", {}).get("seconds", {}).get("total")]
    units = sum(cost(r) for r in timed)
    missing = sum(run_cost(spec) for spec in plan.missing)
    if units:
        seconds = sum(r["training"]["seconds"]["total"] for r in timed)
        return missing * seconds / units / 60, f"from the {len(timed)} finished runs of this study"
    if estimated is None:
        return 0.0, "no estimate"
    device, _, hours, source = estimated.rows[0]
    share = missing / max(sum(run_cost(spec) for spec in plan.runs), 1e-9)
    return (hours or 0.0) * 60 * share, f"at the measured rate of a {device}: {source}"


@contextlib.contextmanager
def quiet_native_stderr():
    """Send the process's own stderr (file descriptor 2) to /dev/null for a while.

    TensorFlow writes its start-up lines (oneDNN, CUDA drivers, absl) from C++ before its log
    level applies, and the Jupyter kernel shows them in red under the first cell that imports it.
    Python's own warnings and errors go through `sys.stderr` and are not affected.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as sink:
            os.dup2(sink.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@dataclass
class Page:
    """What a notebook works with: its parameters, the profile and the dataset (see `setup`)."""

    data: str | None
    profile: object
    dataset: object
    results: str
    build: dict = field(default_factory=dict)  # the last book build's record (`breastnet.defaults.last_build`)

    @cached_property
    def study(self):
        """The data the profile trains on (the limited-data subset; `breastnet.study.plan.study_dataset`)."""
        from ..study.plan import study_dataset

        return study_dataset(self.dataset, self.profile)

    def plan(self, variants=None, alphas=None, spectra=True) -> Plan:
        """The runs `run_sweep` would plan with these arguments (the CV runs of
        `breastnet.study.plan.plan_runs`, then the held-out runs of `plan_heldout`), and the result
        files of those that are done; trains nothing."""
        from ..study.plan import finished_results, planned_heldout, planned_runs, study_folder

        study, _, runs = planned_runs(self.dataset, self.profile, variants, alphas, spectra)
        heldout, ho_runs = planned_heldout(self.dataset, study, self.profile, variants, alphas, spectra)
        plan = Plan(study_folder(self.results, study, self.profile, self.profile.weights), runs + ho_runs)
        plan.heldout = heldout
        plan.done.update(finished_results(plan.folder, plan.runs))
        return plan

    def requests(self, variants=None, alphas=None, spectra=True):
        """The `TrainRequest`s that train this page's runs from a terminal (`page_requests`)."""
        from ..study.request import page_requests
        from ..train.profiles import get_profile

        own = self.profile.weights == get_profile(self.profile.name).weights
        weights = None if own else str(self.profile.weights or "none")
        return page_requests(self.profile, self.results, self.data, variants, alphas, spectra, weights=weights)

    def train_missing_runs(
        self, variants=None, alphas=None, spectra=True, verbose=2, workers=NOTEBOOK_WORKERS, log=print
    ):
        """Train the runs of this page that have no result file yet, then return every run's result.

        Nothing missing: reads the results and logs one line. Otherwise logs how many runs are
        missing, the equivalent command lines (`requests`) and a rough time (`rough_minutes`),
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
        from ..study.estimate import estimate
        from ..study.results import load_results

        done = load_results(plan.folder, heldout=True) if plan.folder.is_dir() else []
        estimated = None if done else estimate(self.dataset, self.profile, variants, alphas, spectra)
        minutes, source = rough_minutes(plan, done, estimated)
        commands = [request.shell() for request in self.requests(variants, alphas, spectra)]
        rough = f"roughly {minutes:.0f} min" if minutes >= 1 else "under a minute"
        log(
            f"TRAINING: {len(missing)} of the {len(plan.runs)} runs of this page have no result file in "
            f"{plan.folder}; training them now, {rough} ({source}). Interrupt the kernel "
            f"to stop: finished runs are kept. The same from a terminal:\n  " + "\n  ".join(commands)
        )
        from ..study.sweep import run_sweep

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
        """External validation (`breastnet.deploy.evaluate.run_external`), visibly.

        Reads the final models and external results already in the study folder; what is
        missing is trained and evaluated now, after a line naming the equivalent command.

        Args:
            external: the external dataset's path.
            log: where the lines go.

        Returns:
            The external result dicts (Table 1's two-stream rows, then the floor).
        """
        import shlex

        from ..data.load import load_dataset
        from ..deploy.evaluate import run_external

        argv = [sys.executable, "-m", "breastnet", "external", "--profile", self.profile.name, "--out"]
        argv += [str(self.results)] + (["--data", str(self.data)] if self.data else []) + ["--external", str(external)]
        command = shlex.join(argv)
        log(
            f"External validation on {external}: final models are read when present, else trained now "
            f"(a few minutes each on a CPU). The same from a terminal:\n  {command}"
        )
        return run_external(self.dataset, load_dataset(external), self.profile, self.results, log=log)


def timings_frame(path):
    """The notebook execution times `breastnet.book.build` writes (a DataFrame: notebook, seconds), or None
    when `path` is None or not a file (a notebook run by hand)."""
    if not path or not Path(path).is_file():
        return None
    import pandas as pd

    return pd.DataFrame(json.loads(Path(path).read_text()))


def glue(name: str, value, display: bool = False) -> None:
    """myst_nb's `glue`, for the book's pages; outside the book's build the value is also shown.

    JupyterLab renders neither `{glue:text}` roles nor `{glue:figure}` blocks, so a student who
    runs a notebook by hand would never read the sentences and figures that exist only as glue.
    There, each glued value is displayed under its cell too: text and numbers with their glue
    name, figures and HTML as themselves. The book's build (`in_book`) shows them on its pages only.
    """
    from IPython import display as ipd
    from myst_nb import glue as myst_glue

    myst_glue(name, value, display=display)
    if display or in_book():
        return
    if isinstance(value, str):
        ipd.display(ipd.Markdown(f"**{name}**: {value}"))
    elif isinstance(value, bool | int | float):
        ipd.display(ipd.Markdown(f"**{name}**: {value:.4g}" if isinstance(value, float) else f"**{name}**: {value}"))
    else:
        ipd.display(value)


def setup(data=None, profile: str | None = None, results=None, log=print) -> Page:
    """The setup of every notebook: quiet TensorFlow, the figures' theme, the profile, the dataset.

    A parameter left at None is the last book build's (`breastnet.defaults.last_build` of the
    results folder), so that a notebook opened by hand after `make book` shows that build's
    results; without a build record, the defaults (`breastnet.defaults`: profile cpu, data from
    $BREASTNET_DATA, else the SYNTHETIC phantoms).

    Args:
        data: dataset path; None: the last build's, else $BREASTNET_DATA, else the phantoms.
        profile: profile name (`breastnet.train.profiles`); None: the last build's, else PROFILE.
        results: results root folder (finished runs there are read, not trained again); None:
            the checkout's `results/` (`breastnet.defaults.results_dir`).
        log: where the line saying what was read goes (outside the book's build).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
    import matplotlib
    import matplotlib.pyplot as plt
    import seaborn as sns

    with quiet_native_stderr():  # its C++ start-up lines, before its log level applies
        import keras

        keras.ops.convert_to_numpy(keras.ops.ones(1))  # the backend's device start-up lines, here

    from ..data.load import load_dataset
    from ..train.profiles import get_profile

    results = results_dir(results)
    build = last_build(results)
    data = data if data is not None else build.get("data")
    profile = profile or build.get("profile") or PROFILE
    if not in_book():
        source = f"the last book build ({results / BUILD_FILE})" if build else "the defaults"
        what = data or "$BREASTNET_DATA, else the SYNTHETIC phantoms"
        log(f"profile {profile}, data {what}, results {results}: from {source}")
    sns.set_theme(style="whitegrid", context="notebook")
    # pyplot loads its backend at the first pyplot figure; the report's figures never go through pyplot, so
    # load it now: in Jupyter, the inline backend is what makes display() and glue() show a Figure as an image.
    plt.switch_backend(matplotlib.get_backend())
    return Page(data, get_profile(profile), load_dataset(data), str(results), build)
