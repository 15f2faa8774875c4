"""breastnet.book.page: the notebooks' setup, what they would train, and that they train only what is missing."""

import re
import shlex
import sys

import numpy as np
import pytest
from report_fakes import fake_result

from breastnet.book import page as notebook
from breastnet.study.results import load_results
from breastnet.train.profiles import get_profile


def test_a_page_names_the_commands_that_train_its_runs_with_this_python(tmp_path, tiny_dataset):
    """The terminal lines of a page are `TrainRequest`s: this interpreter, the page's profile and data."""
    cpu = notebook.Page(None, get_profile("cpu"), tiny_dataset, str(tmp_path / "results"))
    out = str(tmp_path / "results")
    (whole,) = [r.shell() for r in cpu.requests()]
    assert shlex.split(whole) == [sys.executable, "-m", "breastnet", "sweep", "--profile", "cpu", "--out", out]
    data = notebook.Page(str(tmp_path / "BUS BRA"), get_profile("cpu"), tiny_dataset, out)
    (one,) = [r.shell() for r in data.requests(variants=["E-DMTL"], spectra=False)]
    assert one.endswith(f"--data '{tmp_path / 'BUS BRA'}' --variants E-DMTL --no-spectra")  # quoted for a shell
    (spectrum,) = cpu.requests(variants=["E-DMTL"])
    assert spectrum.argv()[-2:] == ["--variants", "E-DMTL"]
    # (family, alpha) pairs that are Table 1 rows go to one sweep; others are a `train` each.
    (rows,) = cpu.requests(variants=["DSSL", "DMTL"], alphas=[0.0, 0.25], spectra=False)
    assert rows.variants == ("DSSL", "E-DSSL", "DMTL", "E-DMTL") and not rows.spectra
    sweep, train = cpu.requests(variants=["E-DMTL"], alphas=[0.25, 1.0])
    assert sweep.variants == ("E-DMTL",) and train.argv() == [
        "train", "--profile", "cpu", "--out", out, "--variant", "E-DMTL", "--alpha", "1"
    ]  # fmt: skip
    # A profile whose weights differ from its name's says so: the random-init twin of chapter 08.
    twin = notebook.Page(None, get_profile("cpu").replace(weights=None), tiny_dataset, out)
    assert twin.requests(variants=["DSTL"], spectra=False)[0].argv()[-2:] == ["--weights", "none"]


@pytest.fixture
def page(tiny_dataset, tmp_path):
    profile = get_profile("smoke").replace(subset=None)  # the tiny dataset is the study
    return notebook.Page(None, profile, tiny_dataset, str(tmp_path / "results"))


def finish(plan, spec, seconds=30.0):
    """Write a result file for `spec` as a finished run would."""
    from breastnet.study.results import write_result

    result = fake_result(spec.variant.name.removeprefix("E-"), spec.variant.alpha, spec.fold, spec.repeat)
    result["training"]["seconds"]["total"] = seconds
    write_result(plan.folder / spec.filename, result, np.zeros((20, 4)))


def test_page_reads_finished_runs_and_trains_only_missing_ones(page, monkeypatch):
    from breastnet.study import sweep

    plan = page.plan(variants=["DSTL"], spectra=False)
    assert len(plan.runs) == 2 and len(plan.missing) == 2 and plan.results == []  # 2 folds, nothing done
    assert notebook.rough_minutes(plan) == (0.0, "no estimate")
    from breastnet.study.estimate import estimate

    estimated = estimate(page.dataset, page.profile, ["DSTL"], spectra=False)
    minutes, source = notebook.rough_minutes(plan, [], estimated)
    assert source.startswith("at the measured rate of a") and minutes > 0
    finish(plan, plan.runs[0], seconds=120.0)
    calls, lines = [], []
    monkeypatch.setattr(sweep, "run_sweep", lambda *args, **kwargs: calls.append(kwargs) or ("folder", ["result"]))
    assert page.train_missing_runs(variants=["DSTL"], spectra=False, log=lines.append) == ("folder", ["result"])
    (kwargs,) = calls
    assert kwargs["variants"] == ["DSTL"] and kwargs["spectra"] is False and kwargs["verbose"] == 2
    (said,) = lines
    # The line states what is missing (1 of 2 runs), where, the time from the finished run and the commands.
    head, _, tail = said.partition(str(plan.folder))
    assert re.findall(r"\d+", head) == ["1", "2"]
    done = load_results(plan.folder)
    minutes, source = notebook.rough_minutes(page.plan(variants=["DSTL"], spectra=False), done)
    assert minutes == pytest.approx(2.0) and source in tail and f"{minutes:.0f} min" in tail  # 120 s a DSTL run
    commands = [r.shell() for r in page.requests(["DSTL"], None, False)]
    assert commands and all(command in tail for command in commands)
    assert shlex.split(commands[0])[0] == sys.executable  # the venv's Python, not a bare `python`

    finish(plan, plan.runs[1])
    lines.clear()
    folder, results = page.train_missing_runs(variants=["DSTL"], spectra=False, log=lines.append)
    assert len(calls) == 1  # nothing trained
    (said,) = lines
    assert folder == plan.folder and str(plan.folder) in said
    assert re.findall(r"\d+", said.partition(str(plan.folder))[0]) == ["2"]  # all 2 runs are done
    assert [r["run"]["fold"] for r in results] == [0, 1]
    assert results[0]["path"] == str(plan.folder / plan.runs[0].filename)


def test_timings_frame(tmp_path):
    assert notebook.timings_frame(None) is None and notebook.timings_frame(tmp_path / "none.json") is None
    path = tmp_path / "timings.json"
    path.write_text('[{"notebook": "01_data", "seconds": 9.5}]')
    assert notebook.timings_frame(path).to_dict("records") == [{"notebook": "01_data", "seconds": 9.5}]


def test_a_notebook_opened_by_hand_reads_the_last_build(tmp_path, monkeypatch):
    """After `make book`, a template's None parameters are that build's: its profile and data."""
    from breastnet.defaults import write_last_build

    monkeypatch.delenv("BREASTNET_BOOK_BUILD", raising=False)
    lines = []
    fresh = notebook.setup(None, None, tmp_path / "results", log=lines.append)
    assert fresh.profile.name == "cpu" and fresh.dataset.synthetic and fresh.build == {}  # the defaults
    assert "from the defaults" in lines[-1]
    write_last_build(tmp_path / "results", data=None, profile="smoke", external="/data/other")
    again = notebook.setup(None, None, tmp_path / "results", log=lines.append)
    assert again.profile.name == "smoke" and again.build["external"] == "/data/other"
    assert "book-build.json" in lines[-1]
    assert notebook.setup(None, "test", tmp_path / "results", log=lines.append).profile.name == "test"  # given wins


def test_glue_shows_a_twin_outside_the_book(monkeypatch):
    """JupyterLab renders no `{glue:text}`: by hand, the glued sentence is also displayed; in the book, not."""
    from IPython import display as ipd

    shown = []
    monkeypatch.setattr(ipd, "display", lambda *objs, **kw: shown.extend(objs))
    monkeypatch.delenv("BREASTNET_BOOK_BUILD", raising=False)
    notebook.glue("auc_text", "Mean test AUC 0.871 over 3 seeds")
    notebook.glue("auc", 0.87126)
    texts = [o.data for o in shown if isinstance(o, ipd.Markdown)]
    assert texts == ["**auc_text**: Mean test AUC 0.871 over 3 seeds", "**auc**: 0.8713"]
    shown.clear()
    monkeypatch.setenv("BREASTNET_BOOK_BUILD", "1")
    notebook.glue("auc_text", "Mean test AUC 0.871 over 3 seeds")
    assert [o for o in shown if isinstance(o, ipd.Markdown)] == []
