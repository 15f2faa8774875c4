"""Table 1 rebuilt: our mean, sd and corrected interval of every row and metric, beside the paper's."""

from __future__ import annotations

import math
from html import escape

import numpy as np
import pandas as pd

from ..model.variants import STUDY_ROWS, TABLE1, VARIANTS
from .html import Rich, markdown_table
from .paper import METRIC_LABELS, METRIC_RANGES, PAPER_TABLE1, STUDY_METRICS, TABLE1_METRICS, row_label
from .runs import select, split_ratio
from .stats import corrected_t
from .text import fmt


def table1(runs: pd.DataFrame, variants=STUDY_ROWS, metrics=STUDY_METRICS, level: float = 0.95) -> pd.DataFrame:
    """Table 1 rebuilt, long format: one row per (variant, metric).

    The paper's rows come first in the order given, our reference rows (not in TABLE1,
    e.g. the descriptor floor) after them.

    Columns: variant, label, reference (a row of ours, not in the paper), metric, n (runs
    with a value), mean, sd, ci_low, ci_high (corrected resampled t interval, clipped to the
    metric's range: with few runs it can be wider than [0, 1]), paper (NaN where the paper
    has no number), in_paper (the paper reports this metric for this row), applies (the
    metric exists for this variant: RMSE and CC only for multi-task).
    """
    ordered = [v for v in variants if v in TABLE1] + [v for v in variants if v not in TABLE1]
    rows = []
    for name in ordered:
        sel = select(runs, name)
        multitask = VARIANTS[name].multitask
        reference = name not in TABLE1
        for metric in metrics:
            applies = metric not in ("rmse", "cc") or multitask
            values = sel[metric].to_numpy(dtype=float) if applies and len(sel) else np.array([])
            ct = corrected_t(values, split_ratio(sel) if len(sel) else 0.0, level)
            low, high = METRIC_RANGES.get(metric, (-math.inf, math.inf))
            paper = PAPER_TABLE1.get(name, {}).get(metric)
            rows.append(
                {
                    "variant": name,
                    "label": row_label(name),
                    "reference": reference,
                    "metric": metric,
                    "n": ct.n,
                    "mean": ct.mean,
                    "sd": ct.sd,
                    "ci_low": max(ct.ci_low, low) if pd.notna(ct.ci_low) else ct.ci_low,
                    "ci_high": min(ct.ci_high, high) if pd.notna(ct.ci_high) else ct.ci_high,
                    "paper": math.nan if paper is None else paper,
                    "in_paper": not reference and metric in TABLE1_METRICS and applies,
                    "applies": applies,
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "variant",
            "label",
            "reference",
            "metric",
            "n",
            "mean",
            "sd",
            "ci_low",
            "ci_high",
            "paper",
            "in_paper",
            "applies",
        ],
    )


def _cell_parts(row) -> tuple[str, str | None]:
    """(value, what goes below it) of our Table 1 cell; below is None for '–' and 'not run'."""
    if not row["applies"]:
        return "–", None
    if row["n"] == 0:
        return "not run", None
    if row["n"] > 1:
        value = f"{row['mean']:.3f} ± {fmt(row['sd'])}"
        below = f"[{fmt(row['ci_low'])}, {fmt(row['ci_high'])}]" if pd.notna(row["ci_low"]) else "no spread"
        return value, below
    return f"{row['mean']:.3f}", "1 run"


def format_cell(row) -> str:
    """Our value of a Table 1 cell as HTML: '<span class="mean">0.812 ± 0.034</span>' and, below,
    the interval ('[0.780, 0.840]', 'no spread' or '1 run'); 'not run' without runs; '–' when
    the metric does not apply."""
    value, below = _cell_parts(row)
    if below is None:
        return value
    return f'<span class="mean">{value}</span><br><span class="ci">{below}</span>'


def table1_html(t1: pd.DataFrame, table_id: str = "table1") -> Rich:
    """Table 1 as an HTML table: per model and metric, our mean ± sd and 95 % CI with the
    paper's value beside them (below, in the same cell, so that the table fits a page).

    The paper's columns come first; our added columns (AUC, balanced accuracy) follow under
    their own header, with "paper —" in the paper's rows (the paper has no value). Our
    reference rows (the descriptor floor) follow the paper's rows, marked as not in the paper.
    Its Markdown twin (for the PDF) has one line per cell: "ours [CI]; paper value".
    """
    present = list(dict.fromkeys(t1["metric"]))
    paper_cols = [m for m in present if m in TABLE1_METRICS]
    added_cols = [m for m in present if m not in TABLE1_METRICS]
    metrics = paper_cols + added_cols
    added_class = ' class="added"'
    labels = "".join(
        f'<th data-metric="{m}"{added_class if m in added_cols else ""}>{METRIC_LABELS.get(m, m)}</th>' for m in metrics
    )
    if paper_cols and added_cols:
        head = (
            f'<tr><th class="model" rowspan="2">Model</th>'
            f'<th class="group" colspan="{len(paper_cols)}">The paper\'s metrics</th>'
            f'<th class="group added" colspan="{len(added_cols)}">Added here (not in the paper)</th></tr>'
            f"<tr>{labels}</tr>"
        )
    else:
        head = f'<tr><th class="model">Model</th>{labels}</tr>'
    body, rows = [], []
    for name, group in t1.groupby("variant", sort=False):
        by_metric = {r["metric"]: r for _, r in group.iterrows()}
        runs = max(int(r["n"]) for r in by_metric.values())
        reference = bool(group["reference"].iloc[0]) if "reference" in group else name not in TABLE1
        cells, plain = [], {}
        for m in metrics:
            r = by_metric[m]
            # "na": the metric does not exist for this model; "empty": it does, but no run has it
            cls = "na" if not r["applies"] else ("ours" if r["n"] else "ours empty")
            if pd.notna(r["paper"]):
                paper = f"paper {fmt(r['paper'], 4)}"
            elif r["applies"] and not reference:  # a row of the paper, a column it does not have
                paper = "paper —"
            else:
                paper = ""
            paper_html = f'<br><span class="paper">{paper}</span>' if paper else ""
            cells.append(f'<td class="{cls}" data-metric="{m}">{format_cell(r)}{paper_html}</td>')
            value, below = _cell_parts(r)
            ours = f"{value} {below}" if below else value
            column = METRIC_LABELS.get(m, m) + (" (added)" if m in added_cols else "")
            plain[column] = f"{ours}; {paper}" if paper else ours
        mark = '<br><span class="reference">reference row of ours, not in the paper</span>' if reference else ""
        label = (
            f'{escape(group["label"].iloc[0])}{mark}<br><span class="runs">{runs} run{"s" if runs != 1 else ""}</span>'
        )
        row_class = ' class="reference"' if reference else ""
        body.append(f'<tr data-variant="{name}"{row_class}><td class="model">{label}</td>{"".join(cells)}</tr>')
        ours = " (reference row of ours, not in the paper)" if reference else ""
        rows.append({"Model": f"{group['label'].iloc[0]}{ours}, {runs} run{'s' if runs != 1 else ''}", **plain})
    html = (
        f'<div class="table1-wrap"><table id="{table_id}" class="table table1">'
        f"<thead>{head}</thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )
    return Rich(html, markdown_table(pd.DataFrame(rows)))
