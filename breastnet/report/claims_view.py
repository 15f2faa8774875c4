"""The claims tables for reading: one row per comparison, and the verdicts as a Markdown list."""

from __future__ import annotations

import pandas as pd


def claims_view(table: pd.DataFrame) -> pd.DataFrame:
    """`claims_table` for reading: one row per comparison, the primary (AUC) columns, then accuracy's."""
    keys = ["claim", "comparison"]
    primary = table[table["primary"]].set_index(keys)
    secondary = table[~table["primary"]].set_index(keys)
    return (
        pd.concat(
            [
                primary[["n", "mean_diff", "ci_low", "ci_high", "p", "result"]].rename(
                    columns={
                        "n": "J",
                        "mean_diff": "AUC diff",
                        "ci_low": "CI low",
                        "ci_high": "CI high",
                        "result": "AUC result",
                    }
                ),
                secondary[["mean_diff", "ci_low", "ci_high", "p", "paper_diff"]].rename(
                    columns={
                        "mean_diff": "accuracy diff",
                        "ci_low": "acc. CI low",
                        "ci_high": "acc. CI high",
                        "p": "acc. p",
                        "paper_diff": "paper accuracy diff",
                    }
                ),
            ],
            axis=1,
        )
        .reset_index()
        .drop(columns="claim")
    )


def verdicts_markdown(verdicts: dict) -> str:
    """The verdicts of `claim_verdicts` as a Markdown list: claim, verdict, why, AUC and accuracy differences."""
    return "\n".join(
        f"- **{v['title']}**{'' if v['in_paper'] else ' (a question of ours, not in the paper)'}: "
        f"*{v['verdict']}* ({v['why']}).  \n  AUC: {v['effect']}.  \n  Accuracy, beside it: {v['secondary'] or '–'}."
        for v in verdicts.values()
    )
