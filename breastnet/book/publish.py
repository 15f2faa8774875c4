"""The book rendered and published: jupyter-book's HTML and PDF builds, and what they add to `_config.yml`.

`build_html` and `build_pdf` run jupyter-book (execution off) on the notebooks that
`breastnet.book` executed. `_config.yml` holds what is true everywhere. At build time `book_config` writes a copy
(`_build/_config.local-<builder>.yml`) with:

- the local MathJax, when `make mathjax` unpacked one (no CDN needed to see the equations);
- the repository, its buttons (repository, issues, suggest edit), launch buttons (Binder
  through `environment.yml`, Colab, and a JupyterHub when $BOOK_JUPYTERHUB_URL names one)
  and `html.baseurl` (GitHub Pages), when the repository is known: $BOOK_REPOSITORY
  ("owner/name"), else $GITHUB_REPOSITORY (set in GitHub Actions), else a github.com
  `origin` remote. Without one the buttons stay off rather than point nowhere.

The book's result pages are notebooks executed by papermill into `book/generated/`, which
is not in the repository. `setup` (a Sphinx extension, listed in `_config.yml`) points each
such page's launch, edit and source buttons at the template it was executed from
(`notebooks/02_variant.ipynb` ...), recorded by papermill in the notebook's metadata: a
student opens the template, sets its parameters cell, and re-runs the page.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCAL_MATHJAX = Path("book") / "_static" / "mathjax" / "tex-mml-chtml.js"
GENERATED = "book/generated/"


def repository(root: Path) -> str | None:
    """ "owner/name" of the book's GitHub repository, or None when it is not known."""
    for name in ("BOOK_REPOSITORY", "GITHUB_REPOSITORY"):
        if os.environ.get(name):
            return os.environ[name].strip().strip("/")
    try:
        url = subprocess.run(
            ["git", "remote", "get-url", "origin"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    match = re.search(r"github\.com[:/]([^/]+/[^/]+?)(?:\.git)?$", url)
    return match.group(1) if match else None


def publishing_settings(repo: str, branch: str = "main") -> dict:
    """The `_config.yml` keys of a book published from GitHub repository `repo` ("owner/name")."""
    owner, name = repo.split("/")
    launch = {
        "notebook_interface": "jupyterlab",
        "binderhub_url": "https://mybinder.org",
        "colab_url": "https://colab.research.google.com",
    }
    if os.environ.get("BOOK_JUPYTERHUB_URL"):
        launch["jupyterhub_url"] = os.environ["BOOK_JUPYTERHUB_URL"]
    return {
        "repository": {"url": f"https://github.com/{repo}", "branch": branch, "path_to_book": ""},
        "html": {
            "use_repository_button": True,
            "use_issues_button": True,
            "use_edit_page_button": True,
            "baseurl": f"https://{owner.lower()}.github.io/{name}/",
        },
        "launch_buttons": launch,
    }


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out.get(key) or {}, value) if isinstance(value, dict) else value
    return out


def book_config(root, log=print, builder: str = "html") -> list[str]:
    """`--config` of the build's copy of `_config.yml` (see the module docstring); [] if it adds nothing.

    For the PDF (`builder` other than "html") the code cells' sources are left out: the web
    book folds them away, paper cannot.
    """
    import yaml

    root = Path(root)
    config = yaml.safe_load((root / "_config.yml").read_text())
    extra: dict = {}
    if (root / LOCAL_MATHJAX).is_file():
        extra["sphinx"] = {"config": {"mathjax_path": "mathjax/tex-mml-chtml.js"}}
        log(f"MathJax: local copy ({LOCAL_MATHJAX})")
    else:
        log("MathJax: from its CDN (no local copy; `make mathjax` makes one)")
    if builder != "html":
        extra = _merge(extra, {"sphinx": {"config": {"nb_remove_code_source": True}}})
    repo = repository(root)
    if repo:
        extra = _merge(extra, publishing_settings(repo))
        log(f"repository: https://github.com/{repo} (launch, edit and issue buttons on)")
    else:
        log("repository: unknown (set BOOK_REPOSITORY=owner/name): no repository or launch buttons")
    if not extra:
        return []
    path = root / "_build" / f"_config.local-{builder}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(_merge(config, extra), sort_keys=False))
    return ["--config", str(path)]


def _jupyter_book() -> list[str]:
    exe = Path(sys.executable).parent / "jupyter-book"
    if exe.is_file():
        return [str(exe)]
    found = shutil.which("jupyter-book")
    if found:
        return [found]
    raise FileNotFoundError("jupyter-book is not installed (pip install -e '.[book]')")


#: A Sphinx warning or error line: "path:line: WARNING: text" or "WARNING: text".
WARNING_LINE = re.compile(r"(WARNING|ERROR|CRITICAL):")


def build_html(root=None, log=print, builder: str = "html") -> tuple[Path, list[str], Path]:
    """`jupyter-book build --all <root>`; returns (output folder, warning lines, log file).

    --all rewrites every page: a page that glues numbers from a notebook has to be
    rewritten when only the notebook changed, which Sphinx would not notice.
    `builder` "pdflatex" makes the PDF (`build_pdf`) instead of the HTML.
    """
    root = Path(root or ROOT).resolve()
    start = time.perf_counter()
    proc = subprocess.run(
        _jupyter_book() + ["build", "--all", "--builder", builder, str(root)] + book_config(root, log, builder),
        cwd=root,
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONWARNINGS="ignore::DeprecationWarning"),
    )
    output = proc.stdout + proc.stderr
    log_file = root / "_build" / f"book-build-{builder}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.write_text(output)
    if proc.returncode != 0:
        raise RuntimeError(
            f"jupyter-book build failed (exit {proc.returncode}); see {log_file}:\n"
            + "\n".join(output.splitlines()[-30:])
        )
    plain = re.sub(r"\x1b\[[0-9;]*m", "", output)  # Sphinx colours its warnings
    warnings = [line.strip() for line in plain.splitlines() if WARNING_LINE.search(line)]
    out = root / "_build" / ("html" if builder == "html" else "latex")
    log(f"jupyter-book ({builder}): {time.perf_counter() - start:.0f} s, {len(warnings)} warning(s) (log: {log_file})")
    return out, warnings, log_file


def build_pdf(root=None, log=print) -> Path:
    """The book as one PDF (jupyter-book's LaTeX builder, then latexmk), from the notebooks `build_book` ran.

    Needs a TeX installation (Debian: texlive-latex-extra texlive-xetex latexmk fonts-freefont-otf; README).
    """
    root = Path(root or ROOT).resolve()
    if not list((root / "book" / "generated").glob("*.ipynb")):
        raise FileNotFoundError(f"no executed notebooks in {root / 'book' / 'generated'}: run `make book` first")
    if shutil.which("latexmk") is None:
        raise FileNotFoundError("latexmk not found: the PDF needs TeX (apt-get install texlive-latex-extra latexmk)")
    shutil.rmtree(root / "_build" / "latex", ignore_errors=True)  # latexmk skips a failed run's leftovers
    latex, warnings, _ = build_html(root, log, builder="pdflatex")
    pdfs = sorted(latex.glob("*.pdf"))
    if not pdfs:
        raise RuntimeError(f"the LaTeX build wrote no PDF into {latex}")
    log(f"PDF: {pdfs[0]}")
    return pdfs[0]


def template_of(notebook: Path, root: Path) -> str | None:
    """The repository path of the template papermill executed `notebook` from, or None."""
    try:
        meta = json.loads(Path(notebook).read_text())["metadata"]["papermill"]
    except (OSError, ValueError, KeyError):
        return None
    template = Path(meta.get("input_path") or "")
    if not template.name:
        return None
    if not template.is_absolute():
        template = Path(meta.get("cwd") or root) / template
    try:
        return template.resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return None


def _retarget(buttons, old: str, new: str) -> int:
    """Replace `old` by `new` in the URLs of header buttons (nested dropdowns included)."""
    changed = 0
    for button in buttons or ():
        if isinstance(button.get("url"), str) and old in button["url"]:
            button["url"] = button["url"].replace(old, new)
            changed += 1
        changed += _retarget(button.get("buttons"), old, new)
    return changed


def _point_generated_pages_at_templates(app, pagename, templatename, context, doctree):
    if not pagename.startswith(GENERATED) or "header_buttons" not in context:
        return
    root = Path(app.srcdir)
    template = template_of(Path(app.env.doc2path(pagename)), root)
    if template:
        _retarget(context["header_buttons"], f"{pagename}.ipynb", template)


def setup(app):
    """Sphinx extension: after sphinx-book-theme made its buttons (priority 501), retarget them."""
    app.connect("html-page-context", _point_generated_pages_at_templates, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
