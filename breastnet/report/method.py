"""The method figure: the DSETM architecture (the paper's Fig. 1), redrawn."""

from __future__ import annotations


def architecture_figure(path) -> None:
    """Draw the DSETM architecture (the paper's Fig. 1, redrawn) into an image file.

    Uses matplotlib's object API (no pyplot, no backend switch), so it is safe to call
    from any process.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    fig = Figure(figsize=(9, 4.2))
    FigureCanvasAgg(fig)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 42)
    ax.axis("off")

    def box(x, y, w, h, text, color):
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.4", fc=color, ec="#333", lw=1))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=10)

    def arrow(x0, y0, x1, y1):
        ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=12, lw=1, color="#333"))

    box(1, 27, 14, 9, "ultrasound image\n+ lesion mask", "#eeeeee")
    box(21, 30, 14, 7, "OA patch\n(lesion box crop)", "#dbe9f6")
    box(21, 8, 14, 7, "HS patch\n(mask, 0 / 255)", "#fde3c8")
    box(41, 30, 17, 7, "DenseNet-121\n(ImageNet) + GAP", "#dbe9f6")
    box(41, 8, 17, 7, "DenseNet-121\n(ImageNet) + GAP", "#fde3c8")
    box(63, 19, 11, 7, "concatenate\n(features)", "#e2f0d9")
    box(80, 28, 18, 7, "softmax: benign /\nmalignant (biopsy)", "#e2f0d9")
    box(80, 10, 18, 7, "linear: BI-RADS\nscore (auxiliary)", "#e2f0d9")
    arrow(15.8, 32, 20.4, 33.5)
    arrow(15.8, 30, 20.4, 12)
    arrow(35.8, 33.5, 40.4, 33.5)
    arrow(35.8, 11.5, 40.4, 11.5)
    arrow(58.8, 33.5, 62.4, 24.5)
    arrow(58.8, 11.5, 62.4, 20.5)
    arrow(74.8, 23.5, 79.4, 31)
    arrow(74.8, 21.5, 79.4, 13.5)
    ax.text(89, 39, "loss: CE − (α/b)·H(p)  (eq. 3)", ha="center", fontsize=10)
    ax.text(89, 5, "+ MSE (eq. 1, multi-task only)", ha="center", fontsize=10)
    ax.text(
        49.5,
        1,
        "DSSL: OA stream only · DSTL: both streams · DMTL: both + BI-RADS head · E-: α > 0",
        ha="center",
        fontsize=10,
        color="#444",
    )
    fig.savefig(path, dpi=130)
