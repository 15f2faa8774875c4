"""The held-out protocol: patients outside the subset, seeds, final models, and the paired analysis end to end."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_BUSBRA

from breastnet import report
from breastnet.data.load import load_dataset
from breastnet.data.synthetic import SHIFTED, synthetic_dataset
from breastnet.study.heldout import SYNTHETIC_PREFIX, heldout_set
from breastnet.study.plan import plan_heldout, planned_heldout, study_dataset
from breastnet.study.results import load_results
from breastnet.study.sweep import run_sweep
from breastnet.train.profiles import CLAIM_ROWS, get_profile


@pytest.mark.skipif(not SHARED_BUSBRA.is_dir(), reason="BUS-BRA is not beside the repository")
def test_busbra_heldout_patients_are_every_patient_outside_the_subset():
    dataset = load_dataset(SHARED_BUSBRA)
    profile = get_profile("cpu")
    study = study_dataset(dataset, profile)
    heldout = heldout_set(dataset, study, profile)
    inside = {r.patient for r in study.records}
    outside = {r.patient for r in heldout.test_records}
    assert not inside & outside  # no patient on both sides
    assert inside | outside == {r.patient for r in dataset.records}  # and none left out
    assert len(heldout.test_records) == len(dataset) - len(study) == 1875 - 312
    s = heldout.summary()
    assert (s["benign"], s["malignant"]) == (1268 - 150, 607 - 162)
    # The runs see the subset first, in the subset's own order: a held-out run trains on what fit_final trains on.
    assert [r.id for r in heldout.data.records[: len(study)]] == [r.id for r in study.records]
    assert np.array_equal(heldout.split.train, np.arange(len(study))) and len(heldout.split.val) == 0


def test_synthetic_heldout_is_a_fresh_draw_with_ids_of_its_own(tmp_path):
    dataset = synthetic_dataset(12, 12, seed=0, cache_dir=tmp_path)
    profile = get_profile("test")
    heldout = heldout_set(dataset, dataset, profile, cache_dir=tmp_path)
    assert heldout.summary()["benign"] == profile.heldout_draw[0]
    assert heldout.summary()["malignant"] == profile.heldout_draw[1]
    ids = [r.id for r in heldout.test_records]
    assert all(i.startswith(SYNTHETIC_PREFIX) for i in ids) and not set(ids) & {r.id for r in dataset.records}
    assert "SYNTHETIC" in heldout.source and heldout.data.synthetic
    # Another seed of the same generator: other pixels than the study's phantom of the same number.
    first = heldout.test_records[0]
    assert (
        first.image.read_bytes()
        != next(r for r in dataset.records if SYNTHETIC_PREFIX + r.id == first.id).image.read_bytes()
    )


def test_no_heldout_set_without_a_subset_or_with_the_protocol_off(tmp_path):
    dataset = synthetic_dataset(12, 12, seed=0, cache_dir=tmp_path)
    assert heldout_set(dataset, dataset, get_profile("test", heldout="none")) is None
    assert heldout_set(dataset, dataset, get_profile("test").replace(subset=None)) is None  # no subset rule
    real = replace(dataset, synthetic=False)
    assert heldout_set(real, real, get_profile("test")) is None  # every patient is in the subset


def test_heldout_plan_is_the_claim_rows_times_the_seeds():
    profile = get_profile("cpu")
    runs = plan_heldout(profile, "heldout-x")
    assert profile.seeds == 3 and set(profile.heldout_variants) == set(CLAIM_ROWS)
    assert len(runs) == len(CLAIM_ROWS) * 3
    assert sorted({r.seed for r in runs}) == [0, 1, 2] and {r.fold for r in runs} == {-1}
    assert runs[0].filename == "heldout-x/DSSL_a0_s0.json"
    assert len(plan_heldout(get_profile("paper"), "h")) > len(plan_heldout(get_profile("paper"), "h", spectra=False))
    assert plan_heldout(profile, "h", variants=["Han2017"]) == []  # not a held-out row of the cpu profile


def test_plan_estimate_counts_the_heldout_runs(tmp_path):
    from breastnet.study.estimate import estimate

    dataset = synthetic_dataset(12, 12, seed=0, cache_dir=tmp_path)
    profile = get_profile("smoke")
    with_ho = estimate(dataset, profile, variants=["DSTL"], spectra=False)
    without = estimate(dataset, profile.replace(heldout="none"), variants=["DSTL"], spectra=False)
    assert with_ho.runs == without.runs + profile.seeds  # one held-out run per seed
    # A held-out run trains on all 24 subset images (18 + 6 for early stopping in this profile): 2 streams, 1 epoch.
    assert with_ho.stream_image_epochs - without.stream_image_epochs == profile.seeds * 18 * 2 * profile.epochs


def test_fused_probability_is_the_mean_of_network_and_floor():
    frame = pd.DataFrame({"unit": [0, 0], "id": ["a", "b"], "patient": ["a", "b"], "y_true": [0, 1]})
    frames = {"DSTL": frame.assign(p=[0.2, 0.6]), "Descriptors": frame.assign(p=[0.4, 1.0])}
    fused = report.add_fused(frames)[report.fused_name("DSTL")]
    assert fused["p"].tolist() == pytest.approx([0.3, 0.8])
    assert report.fused_name("DMTL") not in report.add_fused(frames)  # no DMTL predictions: no fused DMTL


def test_heldout_sweep_end_to_end_on_the_test_profile(tmp_path, monkeypatch):
    """Held-out runs train on the study subset, test every held-out image, save seed 0 as the final model,
    stay out of the CV readers, and give every question a verdict with its numbers."""
    dataset = synthetic_dataset(12, 12, seed=0, cache_dir=tmp_path)
    profile = get_profile("test", epochs=1)
    variants = ["DSTL", "E-DSTL", "Descriptors"]
    folder, cv = run_sweep(dataset, profile, tmp_path / "r", variants=variants, spectra=False, verbose=0, log=print)
    heldout, runs = planned_heldout(dataset, study_dataset(dataset, profile), profile, variants, spectra=False)
    held = load_results(folder, heldout=True)
    held = [r for r in held if r["run"].get("kind") == "heldout"]
    assert len(held) == len(runs) == 3 * profile.seeds and len(cv) == 3 * profile.folds
    assert {r["run"].get("kind") for r in load_results(folder)} == {None}  # CV readers see CV runs only
    for r in held:
        assert r["dataset"]["n_train"] + r["dataset"]["n_val"] == 24  # the test profile stops early on a part
        assert r["dataset"]["n_test"] == sum(profile.heldout_draw)
        assert r["dataset"]["heldout"]["name"] == heldout.name
        assert all(i.startswith(SYNTHETIC_PREFIX) for i in r["predictions"]["id"])
    final = sorted(p.name for p in (folder / "final").glob("*.keras"))
    assert final == ["DSTL_a0_test.keras", "E-DSTL_a0.25_test.keras"]  # seed 0 of the two-stream rows
    frames = report.prediction_frames(held, report.HELDOUT)
    table = report.paired_table(frames, report.HELDOUT, n_resamples=200)
    row = table[table["comparison"] == "DSTL − Descriptors"].iloc[0]
    assert row["units"] == profile.seeds and row["images"] == sum(profile.heldout_draw)
    assert row["ci_low"] <= row["diff"] <= row["ci_high"] and row["mde80"] > 0
    verdicts = report.question_verdicts(table, synthetic=True)
    assert verdicts["shape"]["verdict"] == "not testable here"  # DSSL was not trained
    assert verdicts["entropy"]["verdict"] == "not testable here"  # nor DSSL, DMTL, E-DMTL
    assert "SYNTHETIC" in verdicts["floor"]["label"]
    # External validation tests these final models: nothing is trained twice.
    import breastnet.deploy.evaluate as external

    monkeypatch.setattr(external, "fit_final", lambda *a, **k: pytest.fail("a final model was trained again"))
    other = synthetic_dataset(6, 6, seed=1, cache_dir=tmp_path, shift=SHIFTED)
    (ext,) = external.run_external(dataset, other, profile, tmp_path / "r", rows=("DSTL",), log=print)
    assert ext["model"]["file"].endswith("DSTL_a0_test.keras")
    # A second sweep trains nothing.
    again, _ = run_sweep(dataset, profile, tmp_path / "r", variants=variants, spectra=False, verbose=0, log=print)
    assert sorted(p.stat().st_mtime for p in folder.rglob("*.json")) == sorted(
        p.stat().st_mtime for p in again.rglob("*.json")
    )
