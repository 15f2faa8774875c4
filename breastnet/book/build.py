"""Build the Jupyter Book: run the notebook templates with papermill, then jupyter-book.

    python -m breastnet.book [--profile cpu] [--results results] [--data PATH]

1. Each template of `notebooks/` is executed with papermill into `book/generated/`
   (git-ignored): 01_data, one 02_variant per Table 1 row of the profile, 03_alpha_spectra,
   04_pca, 05_results, 07_heldout (the claims on the held-out patients), 08_transfer,
   06_external. The notebooks train nothing themselves beyond what
   `breastnet.study.sweep.run_sweep` finds missing, so a second build only re-renders. What
   the build ran on (data, profile, results) is written to `<results>/book-build.json`, where
   a notebook opened by hand finds it (`breastnet.defaults.last_build`).
2. `jupyter-book build` (config `_config.yml` and `_toc.yml` at the repository root,
   execution off) writes `_build/html/`.

The notebook kernels are started by papermill with this Python; the TensorFlow log
level and the dataset are passed through the environment and the parameters.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..defaults import ENGINE, PROFILE, RESULTS, WORKERS, write_last_build
from ..model.variants import TABLE1
from ..study.request import TrainRequest
from .page import BOOK_BUILD_ENV
from .publish import build_html, build_pdf

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = (
    "01_data",
    "02_variant",
    "03_alpha_spectra",
    "04_pca",
    "05_results",
    "07_heldout",
    "08_transfer",
    "06_external",
)


@dataclass
class BookBuild:
    """What `build_book` did.

    Attributes:
        html: the built book's folder (None when only the notebooks were run).
        notebooks: the executed notebooks, in order.
        timings: one dict per notebook: notebook, seconds.
        warnings: Sphinx warning lines of the build.
        log: the full jupyter-book output file.
    """

    html: Path | None
    notebooks: list[Path] = field(default_factory=list)
    timings: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    log: Path | None = None


def variant_notebook_name(variant: str) -> str:
    """02_variant_04_DSSL: Table 1 position first, so the book's glob lists them in Table 1 order."""
    return f"02_variant_{TABLE1.index(variant) + 1:02d}_{variant}"


def variant_title(variant: str) -> str:
    """Page title of a variant: its name, with its alpha for the entropy-regularised ones."""
    from ..report import model_label, row_key

    return model_label(*row_key(variant))


def plan_notebooks(profile) -> list[tuple[str, str, dict]]:
    """(template, output name, extra parameters) of every notebook of a profile's book."""
    plan = [("01_data", "01_data", {})]
    plan += [("02_variant", variant_notebook_name(v), {"variant": v}) for v in TABLE1 if v in profile.variants]
    plan += [("03_alpha_spectra", "03_alpha_spectra", {}), ("04_pca", "04_pca", {}), ("05_results", "05_results", {})]
    plan += [("07_heldout", "07_heldout", {}), ("08_transfer", "08_transfer", {}), ("06_external", "06_external", {})]
    return plan


def _finish_notebook(path: Path, title: str | None = None) -> None:
    """Prepare an executed notebook for the book.

    Hides papermill's injected-parameters cell (the notebook keeps it, for whoever re-runs
    it) and, when `title` is given, makes it the first heading: a page title must be a real
    Markdown heading, and a heading displayed by a code cell does not count as one.
    """
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    if title is not None:
        first = nb.cells[0]
        if first.cell_type != "markdown" or not first.source.startswith("# "):
            raise ValueError(f"{path}: the template's first cell must be its '# title' Markdown cell")
        first.source = f"# {title}" + first.source[first.source.index("\n") :] if "\n" in first.source else f"# {title}"
    nbformat.write(nb, path)


def run_notebooks(
    profile: str = PROFILE,
    data=None,
    results=RESULTS,
    root=None,
    log=print,
    only=None,
    train_seconds=None,
    external=None,
) -> BookBuild:
    """Execute every template of the profile's book with papermill into `<root>/book/generated/`.

    Args:
        profile: profile name (`breastnet.train.profiles`).
        data: dataset path; None: $BREASTNET_DATA, else the synthetic phantoms.
        results: results root folder (made absolute; runs found there are reused).
        root: the book's root folder (holds `notebooks/`, `book/`, `_config.yml`).
        log: where a line per notebook goes.
        only: names (or name prefixes, e.g. "05" or "02_variant") of the notebooks to run;
            the others keep their last output. None: all.
        train_seconds: time of the `train_all` step before, recorded with the notebooks' times.
        external: an external dataset's path for the external-validation chapter (06), or None.
    """
    import papermill

    from ..data import resolve_data_path
    from ..train.profiles import get_profile

    root = Path(root or ROOT).resolve()
    prof = get_profile(profile)
    data_path = resolve_data_path(data)
    out = root / "book" / "generated"
    out.mkdir(parents=True, exist_ok=True)
    plan = plan_notebooks(prof)
    wanted = {f"{name}.ipynb" for _, name, _ in plan}
    for stale in out.glob("02_variant_*.ipynb"):  # variants of another profile would be globbed into the toc
        if stale.name not in wanted:
            stale.unlink()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    timings_file = out / "timings.json"
    if only:
        plan = [p for p in plan if any(p[1].startswith(o) for o in only)]
    else:
        timings_file.unlink(missing_ok=True)
    if train_seconds is not None:
        _record_time(timings_file, "training (python -m breastnet sweep)", train_seconds)
    base = {
        "data": None if data_path is None else str(data_path.resolve()),
        "profile": prof.name,
        "results": str(Path(results).resolve()),
        "external": None if external is None else str(Path(external).resolve()),
    }
    write_last_build(base["results"], **{k: v for k, v in base.items() if k != "results"})
    build = BookBuild(html=None)
    what = "SYNTHETIC phantoms" if data_path is None else str(data_path)
    log(f"book: profile {prof.name}, data {what}, results {base['results']}, {len(plan)} notebooks -> {out}")
    previous = os.environ.get(BOOK_BUILD_ENV)
    os.environ[BOOK_BUILD_ENV] = "1"  # the kernels inherit it: glued text then shows on the pages only
    try:
        for n, (template, name, extra) in enumerate(plan, start=1):
            params = dict(base, **extra)
            if template != "06_external":
                params.pop("external")
            if template == "05_results":
                params["timings"] = str(timings_file)
            target = out / f"{name}.ipynb"
            start = time.perf_counter()
            papermill.execute_notebook(
                str(root / "notebooks" / f"{template}.ipynb"),
                str(target),
                parameters=params,
                cwd=str(out),
                progress_bar=False,
                log_output=False,
                kernel_name="python3",
            )
            _finish_notebook(target, variant_title(extra["variant"]) if "variant" in extra else None)
            seconds = time.perf_counter() - start
            build.notebooks.append(target)
            build.timings.append({"notebook": name, "seconds": round(seconds, 1)})
            _record_time(timings_file, name, seconds)
            log(f"[{n}/{len(plan)}] {name}: {seconds:.0f} s")
    finally:
        if previous is None:
            os.environ.pop(BOOK_BUILD_ENV, None)
        else:
            os.environ[BOOK_BUILD_ENV] = previous
    return build


def train_all(
    profile: str = PROFILE,
    data=None,
    results=RESULTS,
    log=print,
    workers: int = WORKERS,
    engine: str = ENGINE,
) -> float:
    """Train every run of the profile's book that has no result yet, in one process.

    Every notebook would train what it finds missing, but each runs in its own kernel
    and would trace each architecture again (about 40 s for two DenseNet-121 streams
    at 64 px, 1.5-2 min on a bare Keras build). One `python -m breastnet sweep` over the
    whole plan traces each architecture once; the notebooks then only read results.
    With `workers` > 1 the sweep trains whole architectures in that many processes at
    once (`breastnet.study.sweep.train_in_workers`). With `engine` "ray" it trains on
    Ray actors instead (`breastnet.study.ray_engine`): a local Ray, or the cluster named
    by $RAY_ADDRESS.

    Returns:
        The seconds it took.
    """
    request = TrainRequest(profile=profile, data=data, out=str(results), workers=workers, engine=engine, quiet=True)
    seconds = _timed_step("training", request.process(), log)
    transfer = transfer_request(profile, data, results, workers, engine)
    if transfer is None:
        log("transfer: the networks did not start from ImageNet, so no random-init twin is trained")
        return seconds
    return seconds + _timed_step("transfer (random init)", transfer.process(), log)


def transfer_request(profile: str, data, results, workers: int = WORKERS, engine: str = ENGINE) -> TrainRequest | None:
    """The sweep of the transfer question's random-init rows, or None when the study's networks did not
    start from ImageNet (read from its result files; `breastnet.report.transfer`)."""
    from ..data import load_dataset
    from ..report.transfer import started_from_imagenet
    from ..study.plan import study_dataset, study_folder
    from ..study.results import load_results
    from ..train.profiles import get_profile

    prof = get_profile(profile)
    folder = study_folder(results, study_dataset(load_dataset(data), prof), prof, prof.weights, create=False)
    if not folder.is_dir() or not started_from_imagenet(load_results(folder)):
        return None
    return TrainRequest(
        profile=profile,
        data=data,
        out=str(results),
        variants=prof.transfer_variants,
        spectra=False,
        weights="none",
        workers=workers,
        engine=engine,
        quiet=True,
    )


def _timed_step(label: str, cmd: list, log=print) -> float:
    """Run one `python -m breastnet ...` step of the build in its own process; its seconds."""
    log(f"{label}: {' '.join(cmd[1:])}")
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    seconds = time.perf_counter() - start
    log(f"{label}: {seconds / 60:.1f} min")
    return seconds


def external_all(profile: str, data, external, results=RESULTS, log=print) -> float:
    """`python -m breastnet external`: final models of the two-stream rows and the floor, on `external`.

    In its own process, like `train_all`: chapter 06 then only reads the results.
    """
    cmd = [sys.executable, "-m", "breastnet", "external", "--profile", profile, "--out", str(results)]
    cmd += ["--external", str(external), "--quiet"] + (["--data", str(data)] if data is not None else [])
    return _timed_step("external validation", cmd, log)


def _record_time(path: Path, name: str, seconds: float) -> None:
    """Add or replace a notebook's execution time in the build's timings file."""
    times = json.loads(path.read_text()) if path.is_file() else []
    times = [t for t in times if t["notebook"] != name] + [{"notebook": name, "seconds": round(seconds, 1)}]
    path.write_text(json.dumps(times, indent=1))


def build_book(
    profile: str = PROFILE,
    data=None,
    results=RESULTS,
    root=None,
    html: bool = True,
    log=print,
    only=None,
    workers: int = WORKERS,
    external=None,
    engine: str = ENGINE,
) -> BookBuild:
    """Run the notebooks, draw the method figure and build the HTML book.

    Args:
        profile, data, results, root, log, only: see `run_notebooks`.
        html: also run jupyter-book (False: notebooks only).
        workers: training processes of the sweep before the notebooks (`train_all`).
        engine: "local" or "ray": what trains the sweep (`train_all`).
        external: an external dataset's path: final models are trained and evaluated on it
            (`external_all`) for chapter 06; None: that chapter only says how to run it.

    Returns:
        A `BookBuild`; `build.html / "index.html"` is the front page.
    """
    from ..report import architecture_figure

    root = Path(root or ROOT).resolve()
    started = time.perf_counter()
    train_seconds = None if only else train_all(profile, data, results, log, workers, engine)
    if external is not None and not only:
        external_all(profile, data, external, results, log)
    build = run_notebooks(profile, data, results, root, log, only, train_seconds, external)
    architecture_figure(root / "book" / "generated" / "dsetm.png")
    if html:
        build.html, build.warnings, build.log = build_html(root, log)
        for line in build.warnings:
            log(f"  {line}")
        log(f"book built in {(time.perf_counter() - started) / 60:.1f} min: {build.html / 'index.html'}")
    return build


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m breastnet.book", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", default=PROFILE, help=f"smoke, cpu or paper (default {PROFILE})")
    parser.add_argument(
        "--data", default=None, help="dataset path; default $BREASTNET_DATA, else the synthetic phantoms"
    )
    parser.add_argument("--results", default=RESULTS, help=f"results folder (default ./{RESULTS})")
    parser.add_argument(
        "--only",
        nargs="+",
        default=None,
        metavar="NAME",
        help="run only these notebooks (names or prefixes: 01_data, 02_variant, 05...); "
        "the others keep their last output",
    )
    parser.add_argument("--notebooks-only", action="store_true", help="run the notebooks, skip jupyter-book")
    parser.add_argument(
        "--pdf-only", action="store_true", help="only make the PDF from the notebooks the last build ran (needs TeX)"
    )
    parser.add_argument(
        "--external", default=None, help="an external dataset for chapter 06 (final models tested on it)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=WORKERS,
        help=f"training processes before the notebooks (python -m breastnet sweep --workers; default {WORKERS})",
    )
    parser.add_argument(
        "--engine",
        choices=("local", "ray"),
        default=ENGINE,
        help="what trains the sweep: local processes, or Ray (a local Ray, or the cluster at $RAY_ADDRESS)",
    )
    args = parser.parse_args(argv)
    if args.pdf_only:
        build_pdf()
        return 0
    build_book(
        args.profile,
        args.data or None,
        args.results,
        html=not args.notebooks_only,
        only=args.only,
        workers=args.workers,
        external=args.external or None,
        engine=args.engine,
    )
    return 0
