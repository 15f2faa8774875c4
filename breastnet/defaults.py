"""The study's defaults, in one place: what `make book`, `python -m breastnet`, `python -m
breastnet.book` and a notebook opened by hand use when they are not told otherwise.

The Makefile reads PROFILE and WORKERS from this file (by name, with sed), the command line
and the book take them as their argparse defaults, the profiles take WEIGHTS, and a notebook
opened in JupyterLab finds the results of the last `make book` through `last_build`. Nothing
here imports the rest of the package.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

#: The profile of `make book`, the command line and the notebooks (`breastnet.train.profiles`).
PROFILE = "cpu"
#: Training processes of a sweep: two one-thread processes beat one two-thread process on the
#: 2-core CI machine (benchmarks/LOG.md, 2026-11-30 books, one process against two workers).
WORKERS = 2
#: What a notebook trains in: its own kernel, so that Keras' lines show in the cell.
NOTEBOOK_WORKERS = 1
#: Backbone weights of every profile: ImageNet if they load, else random init, recorded in each result.
WEIGHTS = "auto"
#: What trains a sweep: local processes ("local") or Ray actors ("ray").
ENGINE = "local"
#: The results folder, relative to where a command runs (the repository root for `make`).
RESULTS = "results"

#: The repository root when breastnet runs from a checkout (the folder holding pyproject.toml), else None.
CHECKOUT = Path(__file__).resolve().parents[1]
CHECKOUT = CHECKOUT if (CHECKOUT / "pyproject.toml").is_file() else None
#: The file a book build writes into its results folder: what it ran on (`last_build`).
BUILD_FILE = "book-build.json"


def cache_dir() -> Path:
    """Where patches, phantoms and downloads are cached: $BREASTNET_CACHE, else the checkout's
    `.cache` (the folder `make book` uses), else ~/.cache/breastnet."""
    env = os.environ.get("BREASTNET_CACHE")
    if env:
        return Path(env)
    return CHECKOUT / ".cache" if CHECKOUT is not None else Path.home() / ".cache" / "breastnet"


def results_dir(results=None) -> Path:
    """The results folder: `results` as given, else RESULTS under the checkout (or the current folder)."""
    if results is not None:
        return Path(results)
    return (CHECKOUT or Path.cwd()) / RESULTS


def weights_option(text: str | None):
    """The `--weights` option as `run_sweep` and `fit_final` take it: "profile" when not given (the
    profile's own), None for "none" (random init), else the text ("auto", "imagenet", a file)."""
    if text is None:
        return "profile"
    return None if str(text).lower() == "none" else text


def write_last_build(results, **build) -> Path:
    """Record in `results` what a book build ran on (data, profile, external, ...), for `last_build`."""
    path = Path(results) / BUILD_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(build, indent=1))
    os.replace(tmp, path)
    return path


def last_build(results) -> dict:
    """What the last book build into `results` ran on ({} if none did)."""
    path = Path(results) / BUILD_FILE
    return json.loads(path.read_text()) if path.is_file() else {}
