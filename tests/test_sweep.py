"""Sweeps: planned without duplicates, resumable, repeatable, and safe against SIGKILL."""

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import breastnet.study.plan as plan
import breastnet.study.sweep as sweep
from breastnet.data.splits import cv_splits
from breastnet.study.plan import plan_runs
from breastnet.study.results import load_results
from breastnet.study.sweep import run_sweep
from breastnet.train.profiles import get_profile

ROOT = Path(__file__).resolve().parents[1]


def test_plan_shares_runs_between_table_and_spectra(tiny_dataset):
    profile = replace(
        get_profile("smoke"),
        variants=("DSSL", "E-DSSL"),
        spectrum_variants=("E-DSSL",),
        alpha_small=(0.0, 0.25),
        alpha_large=(0.0, 2.0),
    )
    splits = cv_splits(tiny_dataset.records, 2, 1, 0)
    runs = plan_runs(profile, splits=splits)
    names = sorted({r.filename.rsplit("_r", 1)[0] for r in runs})
    assert names == ["DSSL_a0", "DSSL_a0.25", "DSSL_a2"]  # E-DSSL is DSSL at alpha 0.25
    assert len(runs) == 3 * 2


def test_runs_sharing_architecture_and_seed_follow_each_other(tiny_dataset):
    profile = get_profile("cpu")
    splits = cv_splits(tiny_dataset.records, profile.folds, 2, 0)
    runs = plan_runs(profile, splits=splits)
    ordered = plan.order_for_reuse(runs, lambda v: v.architecture)
    assert sorted(r.filename for r in ordered) == sorted(r.filename for r in runs)
    # Each (architecture, seed) group is one block: one trace and one initial-weights build each.
    blocks = [(r.variant.architecture, r.seed) for r in ordered]
    changes = 1 + sum(a != b for a, b in zip(blocks, blocks[1:]))
    # 6 network architectures of Table 1, and the descriptor floor (trained apart, no network)
    assert changes == len(set(blocks)) == 7 * profile.folds * 2
    archs = [r.variant.architecture for r in ordered]
    assert 1 + sum(a != b for a, b in zip(archs, archs[1:])) == 7


@pytest.fixture
def tiny_sweep(tiny_dataset, tmp_path):
    profile = replace(get_profile("test"), folds=2, repeats=2, epochs=1, batch_size=4, subset=None)

    def go(out):
        return run_sweep(
            tiny_dataset,
            profile,
            out,
            variants=["E-DSTL"],
            spectra=False,
            cache_dir=tmp_path / "cache",
            verbose=0,
            log=lambda *a: None,
        )

    return go


def test_repeatable_and_resumable(tiny_sweep, tmp_path, monkeypatch):
    folder, first = tiny_sweep(tmp_path / "a")
    assert len(first) == 4
    _, again = tiny_sweep(tmp_path / "b")  # same seed, profile, data: identical numbers
    key = lambda r: (r["run"]["repeat"], r["run"]["fold"])  # noqa: E731
    for r1, r2 in zip(sorted(first, key=key), sorted(again, key=key)):
        assert r1["metrics"] == r2["metrics"]
        assert r1["predictions"]["p_malignant"] == r2["predictions"]["p_malignant"]
    by_repeat = {}
    for r in first:
        by_repeat.setdefault(r["run"]["repeat"], set()).update(
            i for i in r["predictions"]["id"] if r["run"]["fold"] == 0
        )
    assert by_repeat[0] != by_repeat[1]  # repeats shuffle the folds differently

    monkeypatch.setattr(sweep.Trainer, "run", lambda *a, **k: pytest.fail("finished run trained again"))
    _, resumed = tiny_sweep(tmp_path / "a")
    assert len(resumed) == 4


@pytest.mark.slow  # processes of their own (Ray actors, workers, a killed sweep): make test-all, CI
def test_sigkill_mid_sweep_then_resume(tmp_path):
    """Kill a real sweep process as soon as its first run is on disk; the restart trains only the rest."""
    out = tmp_path / "results"
    env = dict(os.environ, BREASTNET_CACHE=str(tmp_path / "cache"), TF_CPP_MIN_LOG_LEVEL="3")
    cmd = [
        sys.executable,
        "-m",
        "breastnet",
        "sweep",
        "--profile",
        "test",
        "--variants",
        "DSSL",
        "--no-spectra",
        "--heldout",
        "none",
        "--workers",
        "1",  # one process: its first finished run is the only one when it is killed
        "--quiet",
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 600
    done = []
    while time.time() < deadline and proc.poll() is None:
        done = [p for p in out.rglob("DSSL_*.json")]
        if done:
            break
        time.sleep(0.2)
    assert done, "no run finished: " + (proc.stdout.read().decode() if proc.poll() is not None else "timeout")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    first = done[0]
    content = first.read_bytes()

    log = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert log.returncode == 0, log.stdout + log.stderr
    assert "1 already done, 1 to train" in log.stdout
    results = load_results(out)
    assert len(results) == 2 and first.read_bytes() == content
    assert not list(out.rglob("*.tmp")) and not list(out.rglob("*.corrupt"))


def copy_dataset(tiny_dataset, tmp_path):
    import shutil

    from breastnet.data.layouts import load_manifest

    target = tmp_path / "copy"
    shutil.copytree(tiny_dataset.root, target)
    return target, load_manifest


def test_fatal_problem_refuses_before_training(tiny_dataset, tiny_sweep, tmp_path, monkeypatch):
    from breastnet.data.problems import DataError

    target, load = copy_dataset(tiny_dataset, tmp_path)
    victim = load(target).records[3].image
    victim.unlink()
    monkeypatch.setattr(sweep.Trainer, "run", lambda *a, **k: pytest.fail("trained on a broken dataset"))
    profile = replace(get_profile("smoke"), subset=None, folds=2)
    with pytest.raises(DataError, match=f"{victim.name}.*does not exist"):
        run_sweep(load(target), profile, tmp_path / "out", variants=["DSSL"], spectra=False, log=lambda *a: None)
    assert not list((tmp_path / "out").rglob("*_f*.json"))


def test_warnings_are_recorded_in_result_files(tiny_dataset, tmp_path):
    import cv2

    target, load = copy_dataset(tiny_dataset, tmp_path)
    record = load(target).records[0]
    mask = cv2.imread(str(record.mask), cv2.IMREAD_GRAYSCALE)
    mask[:3, :3] = 255  # a second, tiny "lesion" in the corner
    cv2.imwrite(str(record.mask), mask)
    profile = replace(get_profile("test"), subset=None, folds=2, epochs=1, batch_size=4)
    _, results = run_sweep(
        load(target),
        profile,
        tmp_path / "out",
        variants=["DSSL"],
        spectra=False,
        cache_dir=tmp_path / "cache",
        verbose=0,
        log=lambda *a: None,
    )
    assert results[0]["config"]["variant"]["backbone"] == "tiny"  # the test profile's stand-in, recorded
    codes = {w["code"] for w in results[0]["warnings"]}
    assert "mask-components" in codes


def test_architecture_blocks_keep_order_and_put_most_work_first(tiny_dataset):
    profile = replace(get_profile("cpu"), variants=("Han2017", "DSSL", "DSTL", "E-DSTL"), spectrum_variants=())
    runs = plan.order_for_reuse(
        plan_runs(profile, splits=cv_splits(tiny_dataset.records, 3, 1, 0)), lambda v: v.architecture
    )
    blocks = plan.architecture_blocks(runs, lambda v: v.architecture)
    # DSTL + E-DSTL: 6 runs x 2 streams = 12; Han2017: 3 runs x 4 margins = 12; DSSL: 3 x 1.
    assert [[r.variant.name for r in b][:1] + [len(b), sum(map(plan.run_cost, b))] for b in blocks] == [
        ["Han2017", 3, 12],
        ["DSTL", 6, 12],
        ["DSSL", 3, 3],
    ]
    assert blocks[1] == [r for r in runs if "DSTL" in r.variant.name]  # in the order of `runs`


@pytest.mark.slow  # processes of their own (Ray actors, workers, a killed sweep): make test-all, CI
def test_worker_processes_give_the_runs_of_one_process(tmp_path):
    """`--workers 2` trains each architecture in one of two processes: same runs, numbers equal up to rounding."""
    env = dict(os.environ, BREASTNET_CACHE=str(tmp_path / "cache"), TF_CPP_MIN_LOG_LEVEL="3")
    results = {}
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        log = subprocess.run(
            [
                sys.executable,
                "-m",
                "breastnet",
                "sweep",
                "--profile",
                "test",
                "--variants",
                "DSSL,DSTL",
                "--no-spectra",
                "--quiet",
                "--out",
                str(out),
                "--workers",
                str(workers),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert log.returncode == 0, log.stdout + log.stderr
        results[workers] = {Path(r["path"]).name: r for r in load_results(out, heldout=True)}
    threads = max(1, os.cpu_count() // 2)
    # 2 CV folds and 2 held-out seeds of each variant; the held-out runs join their architecture's block
    assert f"8 runs in 2 architecture blocks over 2 worker processes x {threads} CPU threads" in log.stdout
    assert sorted(results[1]) == sorted(results[2]) and len(results[2]) == 8
    for name, r2 in results[2].items():
        r1 = results[1][name]
        assert r2["config"]["cpu_threads"].endswith(f"intra_op={threads} inter_op={threads}")
        assert r1["config"]["cpu_threads"] == "backend default"
        # One thread or two may sum in another order: equal up to float rounding.
        np.testing.assert_allclose(r2["predictions"]["p_malignant"], r1["predictions"]["p_malignant"], atol=1e-4)
