"""breastnet.report.facts, .html and .text: what the pages state, and numbers in words."""

import math
from html import escape

import pandas as pd
import pytest
from report_fakes import NET_CONFIG, descriptors_result, fake_result

from breastnet import report


def test_study_facts_say_synthetic():
    facts = report.study_facts([fake_result("DSSL", 0.0, 0, synthetic=True)])
    assert facts["synthetic"] and "SYNTHETIC" in facts["statement"]
    assert facts["weights"] == "random init" and facts["backend"] == "tensorflow"
    assert facts["train_minutes"] == pytest.approx(0.5)
    assert facts["cpu_threads"] == "backend default"  # a file from before sweep workers
    assert "SYNTHETIC data" in report.facts_html(facts) and 'class="admonition warning"' in report.facts_html(facts)
    assert "SYNTHETIC" in report.data_html(True, "synthetic")
    real = report.study_facts([fake_result("DSSL", 0.0, 0)])
    assert "SYNTHETIC" not in real["statement"]
    assert real["bn_stats"] == real["crop"] == real["learning_rate"] == "not recorded"  # an older file
    assert real["optimizer"] == "not recorded"


def test_study_facts_state_the_training_choices():
    old_style = dict(NET_CONFIG, profile={})  # learning rate read from the optimizer's description
    facts = report.study_facts(
        [
            fake_result("DSTL", 0.0, 0, config=NET_CONFIG),
            fake_result("DSTL", 0.0, 1, config=old_style),
            descriptors_result(0, auc=0.7),
        ]
    )
    assert facts["bn_stats"] == "precise" and facts["bn_momentum"] == "0.99" and facts["crop"] == "pad"
    assert facts["learning_rate"] == "0.001"
    assert facts["optimizer"] == NET_CONFIG["optimizer"]  # the result files' description
    assert facts["monitor"] == "val_ce" and facts["min_epochs"] == "1"
    assert facts["early_stopping"] == "val_ce, patience 2, min epochs 1"
    assert facts["weights"] == "random init"  # the networks'; the floor has none
    assert report.study_facts([descriptors_result(0, auc=0.7)])["weights"] == "none (hand-crafted descriptors)"
    html = str(report.facts_html(facts))
    for key in ("bn_stats", "bn_momentum", "crop", "optimizer", "learning_rate", "early_stopping"):
        assert escape(facts[key]) in html, key  # every training choice is on the page, with its value


def test_study_facts_state_a_fixed_epoch_budget():
    """A profile without early stopping (`patience` None) is stated as such, not as 'not recorded'."""
    fixed = dict(NET_CONFIG, early_stopping={"monitor": None, "patience": None, "min_epochs": None, "epochs": 10})
    facts = report.study_facts([fake_result("DSTL", 0.0, 0, config=fixed)])
    assert facts["early_stopping"] == "none: the last of 10 epochs is tested"
    fixed = report.stopping_text(True, facts["early_stopping"])
    assert facts["early_stopping"] in fixed and fixed != report.stopping_text(True, "val_ce, patience 2")


def test_study_facts_name_the_cpu_where_recorded():
    old, new = fake_result("DSTL", 0.0, 0), fake_result("DSTL", 0.0, 1)
    new["provenance"]["hardware"] = dict(old["provenance"]["hardware"], cpu="AMD EPYC 7B13; AVX2")
    assert report.study_facts([old])["hardware"] == "cpu (2 CPU cores, x86_64)"
    assert report.study_facts([new])["hardware"] == "cpu (2 CPU cores, AMD EPYC 7B13; AVX2, x86_64)"


def test_dataset_tables(tiny_dataset):
    records = report.records_frame(tiny_dataset)
    tables = report.dataset_tables(records)
    assert tables["pathology"].loc["all", "images"] == 20
    assert tables["pathology"].loc["benign", "images"] == 10
    assert tables["birads"].loc["all", "all"] == 20
    assert tables["per_patient"]["patients"].mul(tables["per_patient"].index).sum() == 20
    assert "device" not in tables  # the phantoms name no scanner
    records["device"] = ["A", "B"] * 10
    assert report.dataset_tables(records)["device"].loc["all", "all"] == 20


def test_texts():
    points = pd.DataFrame([{"family": "DSSL", "peak_alpha": 0.25, "peak": 0.8, "A": 4.0, "B": None}])
    drop = report.drop_text(points)
    assert all(value in drop for value in ("E-DSSL", "α = 0.25", "0.800", "α = 4")) and "B at" not in drop
    tails = pd.DataFrame({"family": ["DSSL"] * 2 + ["DSTL"] * 2, "alpha": [0.0, 0.25] * 2, "tail_mean": [1, 0.5, 1, 2]})
    assert "1 of 2" in report.tail_text(tails)  # fatter at α = 0 for DSSL only
    assert all(value in report.tail_text(tails) for value in ("1.00", "0.50", "2.00"))
    cal = pd.DataFrame({"family": ["DSTL", "DSTL"], "alpha": [0.0, 0.25], "ece_pooled": [0.2, 0.1]})
    assert "1 of 1" in report.calibration_text(cal) and "0.200 → 0.100" in report.calibration_text(cal)
    assert "<table" in report.profiles_html()


def test_summarize_names_models_by_their_label():
    results = [fake_result("DSSL", 0.0, f, accuracy=a, auc=0.7) for f, a in enumerate([0.6, 0.8])]
    results += [fake_result("DMTL", 0.25, 0, accuracy=0.9, rmse=0.3), descriptors_result(0, auc=0.75)]
    header, dmtl, dssl, descriptors = report.summarize(results, keys=("accuracy", "rmse")).split("\n")
    assert header.split() == ["model", "runs", "accuracy", "rmse"]
    assert dmtl.split() == ["E-DMTL", "(α=0.25)", "1", "0.900", "+-", "0.000", "0.300", "+-", "0.000"]
    assert descriptors.split()[:3] == ["Descriptors", "(floor)", "1"] and descriptors.endswith(" -")
    # sd over runs with ddof 1: (0.6, 0.8) -> 0.141
    assert dssl.split() == ["DSSL", "2", "0.700", "+-", "0.141", "-"]
    assert len({len(line) for line in (header, dmtl, descriptors, dssl)}) == 1  # aligned columns


def test_small_texts():
    assert report.fmt(None) == report.fmt(math.nan) == "–" and report.fmt(0.12345, 2) == "0.12"
    # One text per case (no network; early stopping, with its settings; a fixed budget; not recorded).
    cases = [
        (False, "val_ce"),
        (True, "val_ce, patience 2"),
        (True, "none: the last of 10 epochs"),
        (True, "not recorded"),
    ]
    texts = [report.stopping_text(trained, setting) for trained, setting in cases]
    assert len(set(texts)) == 4 and report.stopping_text(False, "other") == texts[0]  # the floor has no epochs
    assert "val_ce, patience 2" in texts[1] and "none: the last of 10 epochs" in texts[2]
    assert "not recorded" not in texts[3]  # said in words, not as the placeholder
    points = pd.DataFrame([{"family": "DMTL", "peak_alpha": 0.25, "peak": 0.8, "A": 4.0, "B": None}])
    view = report.drop_points_view(points)
    assert view.to_dict("records") == [
        {"family": "E-DMTL", "peak at α": "0.25", "peak accuracy": 0.8, "A at α": "4", "B at α": "–"}
    ]


def test_problems_frame(tiny_dataset):
    from dataclasses import replace

    from breastnet.data.problems import Problem

    assert len(report.problems_frame(tiny_dataset)) == len(tiny_dataset.problems)
    problem = Problem("WARNING", "birads-missing", "img1.png", "no BI-RADS category")
    frame = report.problems_frame(replace(tiny_dataset, problems=[problem]))
    assert frame[["severity", "code"]].to_dict("records") == [{"severity": "WARNING", "code": "birads-missing"}]


def test_boxes_and_tables_have_a_markdown_twin_for_the_pdf():
    box = report.data_html(True, "synthetic", citation="A. B., Data, 2024")
    assert box._repr_markdown_().startswith(":::{admonition} SYNTHETIC data: not patient data\n:class: warning\n")
    assert "Dataset citation (required by its licence): A. B., Data, 2024" in box._repr_markdown_()
    assert box._repr_html_() == str(box) and str(box).startswith('<div class="admonition warning">')
    from IPython.lib.pretty import pretty

    assert pretty(box) == box._repr_markdown_()  # text/plain, where neither HTML nor Markdown is taken
    table = report.html_table(pd.DataFrame({"run": ["a|b", "c"], "auc": [0.81234, float("nan")]}))
    assert table._repr_markdown_().splitlines() == [
        "| run   | auc   |",
        "|:------|:------|",
        "| a\\|b  | 0.812 |",
        "| c     | –     |",
    ]
