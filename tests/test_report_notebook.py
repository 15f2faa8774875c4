"""breastnet.notebook: the notebooks' setup, what they would train, and that they train only what is missing."""

import re

import numpy as np
import pytest
from report_fakes import fake_result

from breastnet import notebook
from breastnet.train.profiles import get_profile


def test_sweep_commands(tmp_path):
    cpu = get_profile("cpu")
    out = str(tmp_path / "results")
    (whole,) = notebook.sweep_commands(cpu, out)
    assert whole == f"python -m breastnet sweep --profile cpu --out {out}"
    (one,) = notebook.sweep_commands(cpu, out, data=str(tmp_path / "BUS BRA"), variants=["E-DMTL"], spectra=False)
    assert one.endswith(f"--data '{tmp_path / 'BUS BRA'}' --variants E-DMTL --no-spectra")  # quoted for a shell
    (spectrum,) = notebook.sweep_commands(cpu, out, variants=["E-DMTL"])
    assert spectrum.endswith("--variants E-DMTL")
    # (family, alpha) pairs that are Table 1 rows go to one sweep; others are a `train` each.
    (rows,) = notebook.sweep_commands(cpu, out, variants=["DSSL", "DMTL"], alphas=[0.0, 0.25], spectra=False)
    assert rows.endswith("--variants DSSL,E-DSSL,DMTL,E-DMTL --no-spectra")
    sweep, train = notebook.sweep_commands(cpu, out, variants=["E-DMTL"], alphas=[0.25, 1.0])
    assert sweep.endswith("--variants E-DMTL --no-spectra")
    assert train == f"python -m breastnet train --profile cpu --out {out} --variant E-DMTL --alpha 1"


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
    minutes, source = notebook.rough_minutes(plan, page.profile)
    assert source.startswith("a guess") and minutes > 0
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
    minutes, source = notebook.rough_minutes(page.plan(variants=["DSTL"], spectra=False), page.profile)
    assert minutes == pytest.approx(2.0) and source in tail and f"{minutes:.0f} min" in tail  # 120 s a DSTL run
    commands = notebook.sweep_commands(page.profile, page.results, page.data, ["DSTL"], None, False)
    assert commands and all(command in tail for command in commands)

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
