"""HTML for the book: admonition boxes, plain tables (styled by the book's theme, readable in JupyterLab).

Each comes as `Rich`: the HTML, with a Markdown twin. The web book and JupyterLab show the
HTML; the PDF (jupyter-book's LaTeX builder, which cannot render HTML) takes the Markdown,
which myst-nb parses as MyST into real LaTeX tables and boxes. A glue from another page
(`{glue}` with `:doc:`) offers the PDF only text/plain, which is the Markdown too.
"""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd

from .facts import data_statement


class Rich(str):
    """An HTML string that also has a Markdown form (`_repr_markdown_`) for outputs that cannot show HTML."""

    def __new__(cls, html: str, markdown: str):
        obj = super().__new__(cls, html)
        obj.markdown = markdown
        return obj

    def _repr_html_(self) -> str:
        return str(self)

    def _repr_markdown_(self) -> str:
        return self.markdown

    def _repr_pretty_(self, printer, cycle) -> None:
        """text/plain: the Markdown, not the HTML source (a glue from another page falls back to it)."""
        printer.text(self.markdown)


def _admonition(kind: str, title: str, body_html: str, body_markdown: str) -> Rich:
    """An admonition box: HTML styled by the book's theme, and a MyST admonition."""
    html = f'<div class="admonition {kind}"><p class="admonition-title">{escape(title)}</p>{body_html}</div>'
    return Rich(html, f":::{{admonition}} {title}\n:class: {kind}\n\n{body_markdown}\n:::\n")


def markdown_table(frame: pd.DataFrame, index: bool = False) -> str:
    """A DataFrame of strings as a Markdown pipe table (pipes in cells escaped)."""
    return frame.map(lambda x: str(x).replace("|", "\\|")).to_markdown(index=index, tablefmt="pipe")


def data_html(synthetic: bool, name: str, citation: str | None = None) -> Rich:
    """A box saying what the data are: a warning box for SYNTHETIC phantoms."""
    texts = [f"The numbers in this book come from {data_statement(synthetic, name)}."]
    if citation:
        texts.append(f"Dataset citation (required by its licence): {citation}")
    body = "".join(f"<p>{escape(t)}</p>" for t in texts)
    markdown = "\n\n".join(texts)
    if synthetic:
        return _admonition("warning", "SYNTHETIC data: not patient data", body, markdown)
    return _admonition("note", f"Data: {name}", body, markdown)


def facts_html(facts: dict) -> Rich:
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
            ("Optimiser", facts.get("optimizer", "not recorded")),
            ("Initial learning rate", facts["learning_rate"]),
            ("Early stopping", facts["early_stopping"]),
        ]
    if facts["citation"] != "unknown":
        items.append(("Dataset citation (required by its licence)", facts["citation"]))
    body = "<ul>" + "".join(f"<li><strong>{k}:</strong> {escape(str(v))}</li>" for k, v in items) + "</ul>"
    markdown = "\n".join(f"- **{k}:** {v}" for k, v in items)
    title = "SYNTHETIC data: not patient data" if facts["synthetic"] else f"Study: {facts['dataset']}"
    return _admonition("warning" if facts["synthetic"] else "note", title, body, markdown)


def profiles_html() -> Rich:
    """The profiles of `breastnet.train.profiles` side by side, as an HTML table."""
    from ..train.profiles import PROFILES

    keys = (
        "size",
        "epochs",
        "patience",
        "optimizer",
        "learning_rate",
        "lr_schedule",
        "batch_size",
        "folds",
        "repeats",
        "subset",
        "alpha_small",
        "alpha_large",
        "weights",
    )

    def shown(profile, key):
        value = getattr(profile, key)
        if key == "patience" and value is None:
            return "none (fixed epochs)"
        return str(value)

    frame = pd.DataFrame({name: {k: shown(p, k) for k in keys} for name, p in PROFILES.items()})
    return Rich(frame.to_html(classes="table", border=0), markdown_table(frame, index=True))


def html_table(frame: pd.DataFrame, digits: int = 3, index: bool = False) -> Rich:
    """A DataFrame as a plain HTML table the book's theme styles: floats rounded, NaN as '–'."""

    def cell(x):
        if x is None or (isinstance(x, (float, np.floating)) and np.isnan(x)):
            return "–"
        if isinstance(x, (float, np.floating)):
            return f"{x:.{digits}f}" if np.isfinite(x) else ("∞" if x > 0 else "−∞")
        return str(x)

    cells = frame.map(cell)
    table = cells.to_html(index=index, border=0, classes="table dataframe", escape=True)
    return Rich(f'<div class="table-wrap">{table}</div>', markdown_table(cells, index=index))
