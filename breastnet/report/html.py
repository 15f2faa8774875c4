"""HTML for the book: admonition boxes, plain tables (styled by the book's theme, readable in JupyterLab)."""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd

from .facts import data_statement


def _admonition(kind: str, title: str, body_html: str) -> str:
    """An admonition box as HTML: styled by the book's theme, plain but readable in JupyterLab."""
    return f'<div class="admonition {kind}"><p class="admonition-title">{escape(title)}</p>{body_html}</div>'


def data_html(synthetic: bool, name: str, citation: str | None = None) -> str:
    """A box saying what the data are: a warning box for SYNTHETIC phantoms."""
    body = f"<p>The numbers in this book come from {escape(data_statement(synthetic, name))}.</p>"
    if citation:
        body += f"<p>Dataset citation (required by its licence): {escape(citation)}</p>"
    if synthetic:
        return _admonition("warning", "SYNTHETIC data: not patient data", body)
    return _admonition("note", f"Data: {name}", body)


def facts_html(facts: dict) -> str:
    """The facts of `study_facts` as a box (a warning one for synthetic data)."""
    items = [
        ("Data", facts["statement"]),
        (
            "Profile",
            f"{facts['profile']} ({facts['runs']} runs, {facts['train_minutes']:.1f} min of training summed over runs)",
        ),
        ("Weights", facts["weights"]),
        ("Backend", f"{facts['backend']} ({facts['versions']})"),
        ("Hardware", f"{facts['hardware']}; CPU threads per training process: {facts['cpu_threads']}"),
    ]
    if "bn_stats" in facts:
        words = {
            "precise": "precise (re-estimated on each run's training images)",
            "moving": "moving (Keras' moving averages)",
            "pad": "pad (the square patch keeps the lesion's width/height ratio)",
            "stretch": "stretch (the lesion box is resized to a square)",
        }
        bn = f"{words.get(facts['bn_stats'], facts['bn_stats'])}; moving-average momentum {facts['bn_momentum']}"
        items += [
            ("BatchNorm statistics at evaluation", bn),
            ("Lesion crop", words.get(facts["crop"], facts["crop"])),
            ("Initial learning rate", facts["learning_rate"]),
            ("Early stopping", facts["early_stopping"]),
        ]
    if facts["citation"] != "unknown":
        items.append(("Dataset citation (required by its licence)", facts["citation"]))
    body = "<ul>" + "".join(f"<li><strong>{k}:</strong> {escape(str(v))}</li>" for k, v in items) + "</ul>"
    title = "SYNTHETIC data: not patient data" if facts["synthetic"] else f"Study: {facts['dataset']}"
    return _admonition("warning" if facts["synthetic"] else "note", title, body)


def profiles_html() -> str:
    """The profiles of `breastnet.train.profiles` side by side, as an HTML table."""
    from ..train.profiles import PROFILES

    keys = (
        "size",
        "epochs",
        "patience",
        "batch_size",
        "folds",
        "repeats",
        "subset",
        "alpha_small",
        "alpha_large",
        "weights",
    )
    frame = pd.DataFrame({name: {k: str(getattr(p, k)) for k in keys} for name, p in PROFILES.items()})
    return frame.to_html(classes="table", border=0)


def html_table(frame: pd.DataFrame, digits: int = 3, index: bool = False) -> str:
    """A DataFrame as a plain HTML table the book's theme styles: floats rounded, NaN as '–'."""

    def cell(x):
        if x is None or (isinstance(x, (float, np.floating)) and np.isnan(x)):
            return "–"
        if isinstance(x, (float, np.floating)):
            return f"{x:.{digits}f}" if np.isfinite(x) else ("∞" if x > 0 else "−∞")
        return str(x)

    table = frame.map(cell).to_html(index=index, border=0, classes="table dataframe", escape=True)
    return f'<div class="table-wrap">{table}</div>'
