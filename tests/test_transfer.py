"""The transfer question: asked only where the result files record ImageNet weights, said so otherwise."""

import numpy as np
import pytest

from breastnet import report


def result(family, alpha, weights, unit, p, y, kind=None):
    """A network (or floor) result with the keys the paired analysis reads."""
    run = {"variant": family, "family": family, "alpha": alpha, "fold": unit, "repeat": 0, "seed": unit}
    if kind == "heldout":
        run.update(fold=-1, repeat=unit, seed_index=unit, kind="heldout")
    ids = [f"u{unit}-{k}" if kind is None else f"h{k}" for k in range(len(y))]
    return {
        "run": run,
        "weights": weights,
        "config": {},
        "provenance": {},
        "metrics": {"accuracy": 0.5, "sensitivity": 0.5, "specificity": 0.5},
        "predictions": {"id": ids, "patient": ids, "y_true": list(y), "p_malignant": list(p)},
    }


def test_the_statement_reads_the_weights_from_the_result_files():
    y, p = [0, 1] * 5, [0.4, 0.6] * 5
    scratch = [result("DSTL", 0.0, "random init (imagenet unavailable)", 0, p, y)]
    floor = result("Descriptors", 0.0, "none (hand-crafted descriptors)", 0, p, y)
    assert not report.started_from_imagenet(scratch + [floor])
    text = report.transfer_statement(scratch + [floor])
    assert "NOT tested" in text and "random init (imagenet unavailable)" in text
    imagenet = [result("DSTL", 0.0, "imagenet", 0, p, y), floor]
    assert report.started_from_imagenet(imagenet) and "is asked" in report.transfer_statement(imagenet)
    mixed = imagenet + scratch  # one run that did not load them is enough to not ask
    assert not report.started_from_imagenet(mixed)


def test_transfer_analysis_compares_each_row_with_its_random_init_twin():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    good = lambda: np.clip(0.5 * y + rng.uniform(0, 0.5, 300), 0, 1)  # noqa: E731
    poor = lambda: rng.uniform(0, 1, 300)  # noqa: E731
    imagenet = {
        "cv": [result("DSTL", 0.0, "imagenet", f, good()[:100], y[:100]) for f in range(3)],
        "heldout": [result("DSTL", 0.0, "imagenet", s, good(), y, "heldout") for s in range(3)],
    }
    random = {
        "cv": [result("DSTL", 0.0, "random init", f, poor()[:100], y[:100]) for f in range(3)],
        "heldout": [result("DSTL", 0.0, "random init", s, poor(), y, "heldout") for s in range(3)],
    }
    out = report.transfer_analysis(imagenet, random, ["DSTL", "E-DMTL"], synthetic=False, n_resamples=300)
    assert out["design"] == "heldout"
    row = out["heldout"].set_index("comparison").loc["DSTL (imagenet) − DSTL (random init)"]
    assert row["units"] == 3 and row["images"] == 300 and row["diff"] > 0.3 and row["ci_low"] > 0
    # E-DMTL was trained from neither start: its comparison is missing, so the claim is not testable.
    assert out["heldout"].set_index("comparison").loc["E-DMTL (imagenet) − E-DMTL (random init)", "verdict"] == (
        "missing"
    )
    assert out["verdicts"]["transfer"]["verdict"] == "not testable here"
    only = report.transfer_analysis(imagenet, random, ["DSTL"], synthetic=False, n_resamples=300)
    assert only["verdicts"]["transfer"]["verdict"] == "supported"
    assert only["cv"].iloc[0]["units"] == 3  # the CV folds, paired fold by fold


def test_the_book_trains_the_twin_only_where_the_results_record_imagenet(tmp_path, monkeypatch):
    from breastnet.book import transfer_request
    from breastnet.data.synthetic import synthetic_dataset
    from breastnet.study.plan import study_dataset, study_folder
    from breastnet.study.results import write_result
    from breastnet.train.profiles import get_profile

    monkeypatch.setenv("BREASTNET_CACHE", str(tmp_path / "cache"))
    profile = get_profile("test")
    data = study_dataset(synthetic_dataset(cache_dir=tmp_path / "cache"), profile)
    folder = study_folder(tmp_path / "results", data, profile, profile.weights)
    assert transfer_request("test", None, tmp_path / "results") is None  # nothing trained yet
    y = [0, 1] * 5
    path = write_result(folder / "DSTL_a0_r0_f0.json", result("DSTL", 0.0, "random init", 0, y, y), np.zeros((10, 2)))
    assert transfer_request("test", None, tmp_path / "results") is None  # from scratch: no twin
    write_result(path, result("DSTL", 0.0, "imagenet", 0, y, y), np.zeros((10, 2)))
    request = transfer_request("test", None, tmp_path / "results", workers=1)
    assert request.weights == "none" and request.variants == ("DSTL", "E-DMTL") and not request.spectra
    cmd = request.argv()
    assert cmd[cmd.index("--weights") + 1] == "none" and cmd[cmd.index("--variants") + 1] == "DSTL,E-DMTL"
    assert "--no-spectra" in cmd and cmd[cmd.index("--workers") + 1] == "1"


@pytest.mark.parametrize("weights", ["imagenet", "random init"])
def test_weights_started_ignores_the_floor(weights):
    y = [0, 1]
    runs = [
        result("DSTL", 0.0, weights, 0, y, y),
        result("Descriptors", 0.0, "none (hand-crafted descriptors)", 0, y, y),
    ]
    assert report.weights_started(runs) == {weights}
