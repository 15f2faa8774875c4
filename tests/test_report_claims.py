"""breastnet.report.claims: paired differences, the corrected test of each claim, the verdicts."""

import math

import pandas as pd
import pytest
from report_fakes import descriptors_result, fake_result, toy_runs
from scipy import stats

from breastnet import report
from breastnet.report import verdicts as rules
from breastnet.report.verdict_words import claim_words


def test_paired_differences_match_fold_and_repeat():
    results = toy_runs()
    results.reverse()  # order must not matter
    results.append(fake_result("DSTL", 0.0, 5, accuracy=0.99))  # no DSSL partner: dropped
    pairs = report.paired_differences(report.runs_frame(results), "DSTL", "DSSL")
    assert list(pairs["fold"]) == [0, 1, 2]
    assert pairs["diff"].to_numpy() == pytest.approx([0.02, 0.04, 0.06])


def test_claims_table_uses_the_corrected_test():
    table = report.claims_table(report.runs_frame(toy_runs()))
    assert list(dict.fromkeys(table["claim"])) == ["shape", "birads", "entropy", "floor"]
    shape = table[table["claim"] == "shape"]
    assert list(shape["metric"]) == ["auc", "accuracy"] and list(shape["primary"]) == [True, False]
    auc, acc = shape.iloc[0], shape.iloc[1]
    for row in (auc, acc):
        assert row["n"] == 3 and row["mean_diff"] == pytest.approx(0.04)
        assert row["t"] == pytest.approx(math.sqrt(48 / 7))  # the hand-worked case above
        assert row["result"].startswith("no significant")
    assert pd.isna(auc["paper_diff"])  # the paper has no AUC
    assert acc["paper_diff"] == pytest.approx(0.8629 - 0.8337)
    entropy = table[(table["claim"] == "entropy") & (table["metric"] == "accuracy")]
    assert list(entropy["n"]) == [1, 0, 0]
    entropy_auc = table[(table["claim"] == "entropy") & table["primary"]]
    assert list(entropy_auc["n"]) == [0, 0, 0]  # E-DSSL has no AUC in the toy runs
    floor = table[table["claim"] == "floor"]
    assert list(dict.fromkeys(floor["comparison"])) == [
        f"{v} − Descriptors" for v in ("DSTL", "E-DSTL", "DMTL", "E-DMTL")
    ]
    assert floor["paper_diff"].isna().all()


def test_claim_verdicts():
    runs = report.runs_frame(toy_runs())
    verdicts = report.claim_verdicts(report.claims_table(runs), synthetic=False)
    shape = verdicts["shape"]
    # +0.040 AUC with a corrected 95 % interval reaching below 0 and a 90 % one above the paper's +0.024: inconclusive.
    assert (shape["code"], shape["reason"], shape["metric"]) == (rules.INCONCLUSIVE, rules.BY_RULES, "auc")
    assert shape["verdict"] == report.VERDICT_LABELS[rules.INCONCLUSIVE]
    birads = verdicts["birads"]  # DSTL-DMTL has 1 pair
    assert (birads["code"], birads["reason"]) == (rules.NOT_TESTABLE, rules.RUNS_MISSING)
    assert verdicts["floor"]["code"] == rules.NOT_TESTABLE and not verdicts["floor"]["in_paper"]
    assert {v["verdict"] for v in verdicts.values() if v["code"] == rules.NOT_TESTABLE} == {rules.NOT_TESTABLE}
    (only,) = shape["comparisons"]
    assert only["effect"] == pytest.approx(0.04) and only["n"] == 3
    # The words carry the numbers: the difference, its interval and p, J, the paper's accuracy difference.
    for number in ("+0.040", report.fmt(only["ci_low"]), report.fmt(only["ci_high"]), report.fmt(only["p"]), "J = 3"):
        assert number in shape["effect"] and number in shape["evidence"]
    assert "+0.040" in shape["secondary"] and "+0.0292" in shape["secondary"]  # accuracy, and the paper's
    q = 0.95 / math.sqrt(2 * 0.975 * 0.025)  # t_{0.975, 2}
    assert only["ci_low"] == pytest.approx(0.04 - q * math.sqrt(0.0004 * 7 / 12))
    assert only["p"] == pytest.approx(1 - math.sqrt(24 / 31))
    row = report.claims_table(runs).query("claim == 'shape' and primary").iloc[0]
    se = math.sqrt(0.0004 * 7 / 12)
    assert row["upper90"] == pytest.approx(0.04 + stats.t.ppf(0.95, 2) * se)
    assert row["mde80"] == pytest.approx((stats.t.ppf(0.975, 2) + stats.t.ppf(0.8, 2)) * se)
    assert row["paper_auc"] == pytest.approx(report.paper_auc_effect("DSTL", "DSSL")["effect"])
    synthetic = report.claim_verdicts(report.claims_table(runs), synthetic=True)
    assert {(v["code"], v["reason"]) for v in synthetic.values()} == {(rules.NOT_TESTABLE, rules.SYNTHETIC_DATA)}
    # A clear, consistent gain in AUC is supported, whatever the accuracy does.
    strong = [fake_result("DSSL", 0.0, f, accuracy=0.5, auc=0.70 + 0.01 * f) for f in range(5)]
    strong += [fake_result("DSTL", 0.0, f, accuracy=0.5, auc=0.80 + 0.012 * f) for f in range(5)]
    decisions = report.claim_decisions(report.claims_table(report.runs_frame(strong)), synthetic=False)
    assert decisions["shape"]["code"] == rules.SUPPORTED
    (accuracy,) = decisions["shape"]["secondary"]  # 0.5 in every run of both: no spread, no test
    assert accuracy["mean_diff"] == 0 and math.isnan(accuracy["ci_low"])


def test_claim_decisions_are_data_and_the_words_follow_them():
    table = report.claims_table(report.runs_frame(toy_runs()))
    decisions = report.claim_decisions(table, synthetic=False)
    shape = decisions["shape"]
    assert (shape["code"], shape["reason"], shape["no_skill"]) == (rules.INCONCLUSIVE, rules.BY_RULES, [])
    (auc,) = shape["primary"]
    assert auc["code"] == rules.INCONCLUSIVE and auc["n"] == 3 and auc["mean_diff"] == pytest.approx(0.04)
    assert auc["code"] == report.rule_verdict(table.query("claim == 'shape' and primary"))
    # No sentence in a decision: its strings are codes, names and the claim's own text.
    assert not {"verdict", "why", "effect", "evidence"} & set(shape)
    verdicts = report.claim_verdicts(table, synthetic=False)
    for key, d in decisions.items():
        assert verdicts[key]["code"] == d["code"] and verdicts[key]["reason"] == d["reason"]
        assert len(verdicts[key]["comparisons"]) == len(d["primary"])
    # The words of a hand-made decision: the reason's sentence names the models without skill.
    words = claim_words(dict(shape, code=rules.NOT_TESTABLE, reason=rules.ONE_PROBABILITY, no_skill=["DSSL", "E-DSSL"]))
    assert words["verdict"] == rules.NOT_TESTABLE and "DSSL, E-DSSL" in words["why"] and "AUC" in words["why"]
    assert words["effect"] == verdicts["shape"]["effect"]  # the numbers do not depend on the verdict


def test_a_small_consistent_difference_rules_out_the_papers_effect():
    # DSTL - DSSL = +0.001 AUC in each of 5 folds but for a spread of 0.001: the corrected 90 % interval
    # ends far below the paper's +0.024 AUC, and nothing is significant.
    diffs = [0.000, 0.002, 0.001, 0.000, 0.002]
    runs = [fake_result("DSSL", 0.0, f, auc=0.80) for f in range(5)]
    runs += [fake_result("DSTL", 0.0, f, auc=0.80 + d) for f, d in enumerate(diffs)]
    table = report.claims_table(report.runs_frame(runs))
    row = table.query("claim == 'shape' and primary").iloc[0]
    assert row["upper90"] < row["paper_auc"] and row["p_holm"] >= 0.05
    assert report.claim_verdicts(table, synthetic=False)["shape"]["code"] == rules.RULED_OUT


def test_fourth_claim_networks_against_descriptors():
    # E-DMTL AUC 0.80, 0.78, 0.86 against the floor's 0.70, 0.74, 0.72 on the same folds:
    # d = 0.10, 0.04, 0.14, mean 0.28 / 3; deviations +0.02/3, -0.16/3, +0.14/3,
    # s^2 = (0.0004 + 0.0256 + 0.0196) / 9 / 2 = 0.0456 / 18; n_test / n_train = 20 / 80.
    results = []
    for fold, (net, floor, net_acc, floor_acc) in enumerate(
        [(0.80, 0.70, 0.7, 0.6), (0.78, 0.74, 0.7, 0.7), (0.86, 0.72, 0.8, 0.6)]
    ):
        results.append(fake_result("DMTL", 0.25, fold, accuracy=net_acc, auc=net, rmse=0.3, cc=0.7))
        results.append(descriptors_result(fold, auc=floor, accuracy=floor_acc))
    table = report.claims_table(report.runs_frame(results))
    row = table[(table["claim"] == "floor") & (table["better"] == "E-DMTL") & table["primary"]].iloc[0]
    mean, var = 0.28 / 3, 0.0456 / 18
    se = math.sqrt((1 / 3 + 1 / 4) * var)
    assert row["n"] == 3 and row["mean_diff"] == pytest.approx(mean)
    assert row["sd"] == pytest.approx(math.sqrt(var))
    assert row["t"] == pytest.approx(mean / se)
    assert row["p"] == pytest.approx(2 * stats.t.sf(mean / se, 2))
    q = 0.95 / math.sqrt(2 * 0.975 * 0.025)
    assert row["ci_low"] == pytest.approx(mean - q * se) and row["ci_high"] == pytest.approx(mean + q * se)
    acc = table[(table["claim"] == "floor") & (table["better"] == "E-DMTL") & ~table["primary"]].iloc[0]
    assert acc["mean_diff"] == pytest.approx((0.1 + 0.0 + 0.2) / 3)
    verdict = report.claim_verdicts(table, synthetic=False)["floor"]
    # DSTL, E-DSTL and DMTL were not run
    assert (verdict["code"], verdict["reason"]) == (rules.NOT_TESTABLE, rules.RUNS_MISSING)
    assert "E-DMTL − Descriptors: +0.093 AUC" in verdict["effect"]
    # Every two-stream network clearly above the floor: supported.
    strong = []
    for fold in range(5):
        strong.append(descriptors_result(fold, auc=0.70 + 0.01 * fold))
        for k, (fam, alpha) in enumerate([("DSTL", 0.0), ("DSTL", 0.25), ("DMTL", 0.0), ("DMTL", 0.25)]):
            strong.append(fake_result(fam, alpha, fold, auc=0.85 + 0.011 * fold + 0.01 * k))
    verdicts = report.claim_verdicts(report.claims_table(report.runs_frame(strong)), synthetic=False)
    assert verdicts["floor"]["code"] == rules.SUPPORTED
    assert len(verdicts["floor"]["comparisons"]) == 4


def test_claims_on_one_class_runs_are_not_testable():
    # A clear gain, but half of DSTL's runs gave one class to every image.
    strong = [fake_result("DSSL", 0.0, f, accuracy=0.70 + 0.01 * f, auc=0.70 + 0.01 * f) for f in range(4)]
    strong += [fake_result("DSTL", 0.0, f, accuracy=0.80 + 0.012 * f, auc=0.80 + 0.012 * f) for f in range(4)]
    runs = report.runs_frame(strong)
    # On accuracy (a threshold metric) one-class runs make the claim untestable.
    by_accuracy = report.claims_table(runs, metrics=("accuracy",))
    assert report.claim_decisions(by_accuracy, False, {("DSTL", 0.0): 0.25})["shape"]["code"] == rules.SUPPORTED
    decision = report.claim_decisions(by_accuracy, False, {("DSTL", 0.0): 0.5})["shape"]
    assert (decision["code"], decision["reason"]) == (rules.NOT_TESTABLE, rules.ONE_CLASS)
    assert decision["no_skill"] == ["DSTL"]
    assert "DSTL" in report.claim_verdicts(by_accuracy, False, {("DSTL", 0.0): 0.5})["shape"]["why"]
    # On AUC a one-class run can still rank: the verdict stands, the accuracy beside it is flagged.
    table = report.claims_table(runs)
    decision = report.claim_decisions(table, False, {("DSTL", 0.0): 0.5})["shape"]
    assert decision["code"] == rules.SUPPORTED and decision["no_skill"] == []
    (accuracy,) = decision["secondary"]
    assert accuracy["no_skill"] == ["DSTL"]
    assert "DSTL" in report.claim_verdicts(table, False, {("DSTL", 0.0): 0.5})["shape"]["secondary"]
    # Runs with one probability for every image rank nothing: not testable on AUC either.
    decision = report.claim_decisions(table, False, {("DSTL", 0.0): 0.5}, {("DSSL", 0.0): 0.75})["shape"]
    assert (decision["code"], decision["reason"]) == (rules.NOT_TESTABLE, rules.ONE_PROBABILITY)
    assert decision["no_skill"] == ["DSSL"]


def test_claims_view_and_verdicts_markdown():
    table = report.claims_table(report.runs_frame(toy_runs()))
    view = report.claims_view(table)
    assert list(view["comparison"])[:2] == ["DSTL − DSSL", "DMTL − DSTL"] and len(view) == len(table) // 2
    assert list(view.columns) == [
        "comparison",
        "J",
        "AUC diff",
        "CI low",
        "CI high",
        "p",
        "AUC result",
        "accuracy diff",
        "acc. CI low",
        "acc. CI high",
        "acc. p",
        "paper accuracy diff",
    ]
    shape = view.iloc[0]
    assert shape["J"] == 3 and shape["AUC diff"] == pytest.approx(0.04)
    assert shape["accuracy diff"] == pytest.approx(0.04)
    assert shape["paper accuracy diff"] == pytest.approx(0.0292)
    verdicts = report.claim_verdicts(table, synthetic=False)
    items = report.verdicts_markdown(verdicts).split("\n- ")
    assert len(items) == len(report.CLAIMS) == len(verdicts)  # one item per claim, in their order
    for item, claim, v in zip(items, report.CLAIMS, verdicts.values(), strict=True):
        assert claim.title in item and f"*{v['verdict']}*" in item and v["effect"] in item
        assert ("(a question of ours, not in the paper)" in item) == (not claim.in_paper)
