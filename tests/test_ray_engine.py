"""The Ray engine: the local pool's result files, a killed worker's block retried without re-training."""

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="the ray extra: pip install -e '.[ray]'")

from breastnet.study.ray_engine import worker_slots  # noqa: E402
from breastnet.study.results import load_results, valid_result  # noqa: E402
from breastnet.study.sweep import run_sweep  # noqa: E402
from breastnet.train.profiles import get_profile  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.tf_only  # Ray workers take the driver's backend; once is enough


def test_worker_slots_by_cpus_and_gpus():
    assert worker_slots({"CPU": 2.0}, 1, 0) == 2
    assert worker_slots({"CPU": 2.0}, 1.5, 0) == 1
    assert worker_slots({"CPU": 16.0, "GPU": 1.0}, 2, 0.25) == 4  # four actors share the GPU
    assert worker_slots({"CPU": 16.0, "GPU": 1.0}, 8, 0.25) == 2  # CPUs are the limit
    assert worker_slots({"CPU": 16.0}, 1, 0.5) == 0  # asks for a GPU the cluster lacks
    with pytest.raises(ValueError, match="cpus per worker"):
        worker_slots({"CPU": 2.0}, 0, 0)


def _sweep_cli(out, *extra, cache):
    env = dict(os.environ, BREASTNET_CACHE=str(cache), TF_CPP_MIN_LOG_LEVEL="3")
    cmd = [sys.executable, "-m", "breastnet", "sweep", "--profile", "test", "--variants", "DSSL,DSTL"]
    # CV runs only: the held-out runs go through the same blocks (tests/test_sweep.py checks them in workers)
    cmd += ["--no-spectra", "--heldout", "none", "--quiet", "--out", str(out), *extra]
    log = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert log.returncode == 0, log.stdout + log.stderr
    return log.stdout, {Path(r["path"]).name: r for r in load_results(out)}


def _science(result):
    """A result file without what differs between any two runs: times, process, argv."""
    result = {k: v for k, v in result.items() if k not in ("provenance", "path")}
    training = {k: v for k, v in result["training"].items() if k not in ("seconds", "train_images_per_second")}
    return {**result, "training": training}


@pytest.mark.slow  # processes of their own (Ray actors, workers, a killed sweep): make test-all, CI
def test_ray_engine_writes_the_files_of_the_local_pool(tmp_path, capsys, monkeypatch):
    """`--engine ray` (one CPU per actor) and `--workers 2` (one thread per process): identical results."""
    from breastnet.cli import main

    _, pool = _sweep_cli(tmp_path / "pool", "--workers", "2", cache=tmp_path / "cache")
    monkeypatch.setenv("BREASTNET_CACHE", str(tmp_path / "cache"))
    capsys.readouterr()
    main(["plan", "--profile", "test", "--out", str(tmp_path / "pool"), "--print-folder"])
    folder = capsys.readouterr().out.strip()  # the cache key of the publishing workflow
    assert {str(Path(r["path"]).parent) for r in pool.values()} == {folder}
    log, on_ray = _sweep_cli(tmp_path / "ray", "--engine", "ray", "--cpus-per-worker", "1", cache=tmp_path / "cache")
    assert "4 runs in 2 architecture blocks over 2 Ray workers x 1 CPU (1 threads)" in log
    assert sorted(on_ray) == sorted(pool) and len(pool) == 4
    for name, result in on_ray.items():
        assert _science(result) == _science(pool[name]), name
    assert not list((tmp_path / "ray").rglob("*.tmp"))


@pytest.mark.slow  # processes of their own (Ray actors, workers, a killed sweep): make test-all, CI
def test_a_killed_ray_worker_is_restarted_and_trains_only_what_is_missing(tiny_dataset, tmp_path):
    """SIGKILL the actor of the 4-run DSTL block after its first run; the sweep still finishes."""
    import ray

    out = tmp_path / "out"
    profile = replace(get_profile("test"), subset=None, folds=2)
    killed = {}

    def kill_after_first_dstl_run(actors):
        pid = ray.get(actors[0].pid.remote())  # actor 0 takes the largest block: DSTL + E-DSTL

        def watch():
            deadline = time.time() + 600
            while time.time() < deadline:
                done = [p for p in out.rglob("DSTL_*.json") if valid_result(p) is not None]
                if done:
                    killed["files"] = {p.name: (p.stat().st_ino, p.read_bytes()) for p in out.rglob("*_f*.json")}
                    os.kill(pid, signal.SIGKILL)
                    return
                time.sleep(0.02)

        threading.Thread(target=watch, daemon=True).start()

    _, results = run_sweep(
        tiny_dataset,
        profile,
        out,
        variants=["DSSL", "DSTL", "E-DSTL"],
        spectra=False,
        cache_dir=tmp_path / "cache",
        verbose=0,
        log=lambda *a: None,
        engine="ray",
        ray_options={"cpus_per_worker": 1, "on_started": kill_after_first_dstl_run},
    )
    assert killed, "the watcher never saw a DSTL run finish"
    dstl_before = [name for name in killed["files"] if name.startswith("DSTL_")]
    assert 1 <= len(dstl_before) < 4, "the kill came after the block was done: nothing to retry"
    assert len(results) == 6  # 2 folds x (DSSL, DSTL, E-DSTL)
    for name, (inode, content) in killed["files"].items():
        path = next(out.rglob(name))
        assert path.stat().st_ino == inode and path.read_bytes() == content, f"{name} was trained again"
    assert not list(out.rglob("*.tmp")) and not list(out.rglob("*.corrupt"))
