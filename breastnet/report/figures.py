"""Every figure of the book, drawn with matplotlib's object API.

Each function takes frames (or result dicts) and returns a `matplotlib.figure.Figure` with an
Agg canvas: no pyplot, no backend switch, nothing to close, so it is safe to call from any
process. A notebook glues and displays it. matplotlib and seaborn are imported when a figure
is drawn, so importing `breastnet.report` does not need them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .calibration import ece_from_bins, reliability_bins
from .spectra import clipped_error_bars

#: Panels of the alpha figures (metric, title), in this order; those without values are left out.
ALPHA_PANELS = (
    ("accuracy", "accuracy"),
    ("sensitivity", "sensitivity"),
    ("specificity", "specificity"),
    ("auc", "AUC"),
    ("rmse", "BI-RADS RMSE"),
    ("cc", "BI-RADS CC"),
)


def new_figure(figsize, rows: int = 1, cols: int = 1, **subplots):
    """A figure of rows x cols axes on an Agg canvas, outside pyplot.

    Returns:
        (fig, axes): axes is always a 2-D array (`squeeze=False`); `subplots` go to `Figure.subplots`
        (sharey=True, ...).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig, fig.subplots(rows, cols, squeeze=False, **subplots)


def message_figure(text: str, figsize=(6, 1.5)):
    """A figure that only says `text` (where there is nothing to draw)."""
    fig, axes = new_figure(figsize)
    axes[0, 0].axis("off")
    axes[0, 0].text(0.5, 0.5, text, ha="center", va="center")
    fig.tight_layout()
    return fig


def patches_figure(patches, labels, seed: int, per_class: int = 4):
    """OA and HS patch pairs of `per_class` random benign and malignant images (a row per pair of lesions).

    Args:
        patches: an object with `oa` and `hs` uint8 image arrays (`breastnet.data.patches.load_patches`).
        labels: 0 (benign) / 1 (malignant) per image, in the patches' order.
        seed: seed of the random choice of images.
        per_class: images of each class (fewer when a class has fewer).

    Returns:
        A Figure of rows x 4 panels: benign OA, benign HS, malignant OA, malignant HS.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    picks = {
        name: rng.choice(np.flatnonzero(labels == k), size=min(per_class, int((labels == k).sum())), replace=False)
        for k, name in enumerate(("benign", "malignant"))
    }
    rows = min(len(p) for p in picks.values())
    fig, axes = new_figure((7, 1.9 * rows), rows, 4)
    for row in range(rows):
        for col, (name, kind) in enumerate(
            [("benign", "oa"), ("benign", "hs"), ("malignant", "oa"), ("malignant", "hs")]
        ):
            ax = axes[row, col]
            ax.imshow(getattr(patches, kind)[picks[name][row]], cmap="gray", vmin=0, vmax=255)
            ax.set_xticks([]), ax.set_yticks([])
            if row == 0:
                ax.set_title(f"{name} {kind.upper()}", fontsize=10)
    fig.tight_layout()
    return fig


def history_figure(history: pd.DataFrame):
    """Learning curves of one variant's runs (`history_frame`): one line per fold and series.

    Left: the training objective (`loss`) and the validation cross-entropy (`val_ce`, or the
    validation objective `val_loss` of older files); right, when recorded: the validation AUC,
    with chance (0.5) dotted. Without history (the descriptor floor): a figure saying so.
    """
    import seaborn as sns

    series = set(history["series"])
    loss_series = [s for s in ("loss", "val_ce") if s in series]
    if "val_ce" not in loss_series and "val_loss" in series:
        loss_series.append("val_loss")  # files from before val_ce was recorded
    if not len(history) or not loss_series:
        return message_figure("No learning curves: no network was trained for this row.")
    panels = [(loss_series, "loss / cross-entropy")] + (
        [(["val_auc"], "validation AUC")] if "val_auc" in series else []
    )
    fig, axes = new_figure((4.5 * len(panels), 3.5), 1, len(panels))
    for ax, (names, label) in zip(axes[0], panels, strict=True):
        sub = history[history["series"].isin(names)]
        sns.lineplot(data=sub, x="epoch", y="value", hue="series", style="fold", markers=True, dashes=False, ax=ax)
        ax.set_ylabel(label)
        ax.set_xlim(0.5, history["epoch"].max() + 0.5)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(fontsize=7)
    if "val_auc" in series:
        axes[0][-1].axhline(0.5, color="grey", lw=1, ls=":")
    fig.tight_layout()
    return fig


def confusion_figure(matrix: pd.DataFrame):
    """A confusion matrix (`confusion`) as an annotated heatmap."""
    import seaborn as sns

    fig, axes = new_figure((3.6, 3))
    sns.heatmap(matrix, annot=True, fmt="d", cmap="Blues", cbar=False, ax=axes[0, 0])
    fig.tight_layout()
    return fig


def family_colors(families) -> dict:
    """One colour per family, the same in every alpha figure."""
    import seaborn as sns

    families = list(families)
    return dict(zip(families, sns.color_palette(n_colors=max(3, len(families))), strict=False))


def alpha_figure(
    curve: pd.DataFrame, alphas, chance: float, families=None, log_x: bool = False, marks: pd.DataFrame | None = None
):
    """Mean +- sd (cut at the metric's range) of each metric against alpha, one line per family (Fig. 2a, 2b).

    Args:
        curve: `alpha_curve` output.
        alphas: the alphas drawn (the small or the large grid).
        chance: the chance accuracy, drawn dotted on the accuracy panel.
        families: the families in colour order (default: those of `curve`); see `family_colors`.
        log_x: a symmetric-log alpha axis (linear up to the smallest alpha > 0).
        marks: `drop_points` output: points A (dashed) and B (dash-dotted) on the accuracy panel.

    Returns:
        A Figure of one panel per metric of ALPHA_PANELS present (3 a row); a free panel holds the legend.
    """
    colors = family_colors(dict.fromkeys(curve["family"]) if families is None else families)
    sub = curve[curve["alpha"].isin(alphas)]
    panels = [p for p in ALPHA_PANELS if p[0] in set(sub["metric"])]
    rows = 1 if len(panels) <= 3 else 2
    fig, axes = new_figure((7.5, 2.6 * rows), rows, 3)
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    for ax, (metric, label) in zip(axes.flat, panels, strict=False):
        for fam, g in sub[sub["metric"] == metric].groupby("family", sort=False):
            g = g.sort_values("alpha")
            ax.errorbar(
                g["alpha"],
                g["mean"],
                yerr=clipped_error_bars(g["mean"], g["sd"], metric),
                marker="o",
                capsize=3,
                label=f"E-{fam}",
                color=colors[fam],
            )
        if log_x:
            ax.set_xscale("symlog", linthresh=min(a for a in alphas if a > 0))
        if metric == "accuracy":
            ax.axhline(chance, color="grey", ls=":", lw=1)
            _mark_points(ax, marks, colors)
        ax.set_xlabel("α")
        ax.set_title(label, fontsize=10)
        ax.tick_params(labelsize=8)
    handles, labels = axes[0][0].get_legend_handles_labels()
    if len(panels) < rows * 3:  # the legend in the free panel
        axes.flat[-1].legend(handles, labels, loc="center", title="model")
    else:
        axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def _mark_points(ax, marks, colors) -> None:
    """Points A (dashed) and B (dash-dotted) of `drop_points` as vertical lines, labelled at the top."""
    for _, p in (marks if marks is not None else pd.DataFrame()).iterrows():
        at = {}
        for point, style in (("A", "--"), ("B", "-.")):
            if p[point] is not None and not pd.isna(p[point]):
                ax.axvline(p[point], color=colors[p["family"]], ls=style, lw=1)
                at.setdefault(p[point], []).append(point)
        for x, names in at.items():
            ax.annotate(
                ",".join(names),
                (x, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(-3, -3),
                textcoords="offset points",
                va="top",
                ha="right",
                color=colors[p["family"]],
                fontsize=10,
                fontweight="bold",
            )


def spectra_figure(spectra: pd.DataFrame, families, tail_from: int):
    """Feature spectra (Fig. 2c, `spectra_frame`): mean log λ_i against i per model, ± sd band, a panel per family.

    The dotted line is where the tail is measured from (`spectrum_tails`)."""
    import seaborn as sns

    families = list(families)
    fig, axes = new_figure((2.5 * len(families), 3.0), 1, len(families), sharey=True)
    for ax, fam in zip(axes[0], families, strict=True):
        sub = spectra[spectra["family"] == fam]
        sns.lineplot(data=sub, x="index", y="log_eigenvalue", hue="model", errorbar="sd", ax=ax)
        ax.axvline(tail_from, color="grey", ls=":", lw=1)
        ax.set_title(fam, fontsize=10)
        ax.set_xlabel("index i", fontsize=9)
        ax.set_ylabel("log λ_i", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.legend(fontsize=7, title=None)
    fig.tight_layout()
    return fig


def reliability_figure(predictions: pd.DataFrame, families, alphas=(0.0, 0.25)):
    """Reliability diagrams of pooled test predictions (`pooled_predictions`): a panel per family, a line
    per alpha (observed malignant rate against mean predicted probability of each non-empty bin) with
    its ECE in the legend, and the diagonal of perfect calibration dotted."""
    families = list(families)
    fig, axes = new_figure((2.5 * max(1, len(families)), 3.0), 1, max(1, len(families)), sharey=True)
    for ax, fam in zip(axes[0], families, strict=False):
        ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1)
        for alpha in alphas:
            sub = predictions[(predictions["family"] == fam) & np.isclose(predictions["alpha"], alpha)]
            if not len(sub):
                continue
            bins = reliability_bins(sub["y_true"], sub["p_malignant"])
            used = bins[bins["count"] > 0]
            ax.plot(
                used["mean_predicted"],
                used["observed"],
                marker="o",
                label=f"α = {alpha:g}: ECE {ece_from_bins(bins):.3f}",
            )
        ax.set_xlim(0, 1), ax.set_ylim(0, 1)
        ax.set_xlabel("predicted P(malignant)", fontsize=9)
        ax.set_ylabel("observed malignant rate", fontsize=9)
        ax.set_title(fam, fontsize=10)
        ax.tick_params(labelsize=8)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def claims_figure(claims: pd.DataFrame):
    """Paired differences of `claims_table` as a forest plot: AUC (left) and accuracy (right), mean and
    corrected interval per comparison, the paper's differences as crosses where it has them."""
    comparisons = list(dict.fromkeys(claims["comparison"]))
    y = dict(zip(comparisons, np.arange(len(comparisons))[::-1], strict=True))
    fig, axes = new_figure((9, 0.45 * len(comparisons) + 1.2), 1, 2, sharey=True)
    for ax, metric, label in (
        (axes[0, 0], "auc", "difference in AUC (primary)"),
        (axes[0, 1], "accuracy", "difference in accuracy"),
    ):
        sub = claims[claims["metric"] == metric]
        ys = sub["comparison"].map(y)
        ax.errorbar(
            sub["mean_diff"],
            ys,
            xerr=[sub["mean_diff"] - sub["ci_low"], sub["ci_high"] - sub["mean_diff"]],
            fmt="o",
            capsize=3,
            label="ours (95 % CI)",
        )
        if sub["paper_diff"].notna().any():
            ax.scatter(sub["paper_diff"].astype(float), ys, marker="x", color="crimson", zorder=3, label="paper")
        ax.axvline(0, color="grey", lw=1)
        ax.set_xlabel(label)
        ax.legend(fontsize=8, loc="best")
    axes[0, 0].set_yticks(list(y.values()), list(y.keys()))
    fig.tight_layout()
    return fig


def plot_learning_curve(frame: pd.DataFrame, ax) -> None:
    """Draw `learning_curve_frame` on a matplotlib axes: AUC per epoch, colour = split
    (validation, test), line style = statistics (precise solid, moving dashed), the restored
    epoch dotted and chance (0.5) grey."""
    colors = {"validation": "tab:blue", "test": "tab:orange"}
    styles = {"precise": "-", "moving": "--"}
    for (split, statistics), g in frame.groupby(["split", "statistics"], sort=False):
        g = g.sort_values("epoch")
        ax.plot(
            g["epoch"],
            g["auc"],
            marker="o",
            ms=3,
            color=colors.get(split),
            ls=styles.get(statistics, "-"),
            label=f"{split}, {statistics} statistics",
        )
    ax.axhline(0.5, color="grey", lw=1, ls=":")
    if len(frame) and pd.notna(frame["best_epoch"].iloc[0]):
        ax.axvline(int(frame["best_epoch"].iloc[0]), color="black", lw=1, ls=":", label="restored epoch")
    ax.set_xlabel("epoch")
    ax.set_ylabel("AUC")
    ax.set_ylim(0, 1)
    if len(frame):
        ax.set_xlim(0.5, frame["epoch"].max() + 0.5)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(fontsize=8, loc="lower right")


def learning_curve_figure(frame: pd.DataFrame):
    """The learning-curve run (`learning_curve_frame`) drawn by `plot_learning_curve`, or a figure saying
    that no run recorded one."""
    if not len(frame):
        return message_figure("No run of this study recorded a learning curve.", figsize=(6, 3.5))
    fig, axes = new_figure((6, 3.5))
    plot_learning_curve(frame, axes[0, 0])
    fig.tight_layout()
    return fig


def forest_figure(table: pd.DataFrame, title: str = ""):
    """Paired AUC differences of `paired_table` as a forest plot: each comparison's difference with
    its 95 % bootstrap interval (and, thinner, its 90 % one), the paper's effect in AUC units as a
    cross where it has one, zero as a grey line, and the smallest detectable difference written
    at the right margin."""
    done = table[table["diff"].notna()].reset_index(drop=True)
    if not len(done):
        return message_figure("no paired comparison could be computed")
    ys = np.arange(len(done))[::-1]
    fig, axes = new_figure((8, 0.42 * len(done) + 1.4))
    ax = axes[0, 0]
    ax.hlines(ys, done["lower90"], done["upper90"], color="tab:blue", lw=4, alpha=0.35, label="ours, 90 % CI")
    ax.errorbar(
        done["diff"],
        ys,
        xerr=[done["diff"] - done["ci_low"], done["ci_high"] - done["diff"]],
        fmt="o",
        color="tab:blue",
        capsize=3,
        label="ours, mean and 95 % CI",
    )
    paper = done["paper_effect"].astype(float)
    if paper.notna().any():
        ax.scatter(paper, ys, marker="x", color="crimson", zorder=3, label="paper's effect (AUC units)")
    ax.axvline(0, color="grey", lw=1)
    ax.set_yticks(ys, done["comparison"])
    ax.set_xlabel("difference in AUC (better − baseline)")
    for y, mde in zip(ys, done["mde80"], strict=True):
        ax.annotate(f"MDE {mde:.3f}", (1.01, y), xycoords=("axes fraction", "data"), va="center", fontsize=7)
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig
