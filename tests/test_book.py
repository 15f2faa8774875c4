"""The whole smoke book, end to end: papermill, jupyter-book, then the HTML read back.

Slow (every smoke run is trained: see the timings this prints); run it alone with
`pytest -m book tests/test_book.py`.
"""

import re
import shutil
from pathlib import Path

import pytest

pytestmark = [pytest.mark.book, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]

#: Sphinx warnings that are expected and harmless, each with the reason.
KNOWN_WARNINGS = [
    # None so far: the smoke build is warning-free. Add (regex, why) pairs here, never a blanket filter.
]


def unexplained(warnings):
    return [w for w in warnings if not any(re.search(pattern, w) for pattern, _ in KNOWN_WARNINGS)]


@pytest.fixture(scope="module")
def smoke_book(tmp_path_factory):
    """Copy the book's sources to a temporary root and build the smoke book there.

    The repository's own book/generated/ and _build/ are left alone; phantoms, patches and
    results go to temporary folders, and $BREASTNET_DATA is unset (synthetic data).
    """
    from breastnet.book import build_book

    root = tmp_path_factory.mktemp("book")
    for name in ("_config.yml", "_toc.yml", "references.bib"):
        shutil.copy(ROOT / name, root / name)
    shutil.copytree(ROOT / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copytree(ROOT / "book", root / "book", ignore=shutil.ignore_patterns("generated", "_build"))
    lines = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BREASTNET_CACHE", str(tmp_path_factory.mktemp("cache")))
        mp.delenv("BREASTNET_DATA", raising=False)
        mp.setenv("BOOK_REPOSITORY", "example-org/breastnet")  # as the publishing workflow sets it
        build = build_book("smoke", None, root / "results", root=root, log=lines.append)
    print("\n".join(lines))
    return build


def page(build, name):
    return (build.html / name).read_text(encoding="utf-8")


def test_every_notebook_ran(smoke_book):
    from breastnet.train.profiles import get_profile

    names = [t["notebook"] for t in smoke_book.timings]
    assert names[0] == "01_data"
    assert names[-6:] == ["03_alpha_spectra", "04_pca", "05_results", "07_heldout", "08_transfer", "06_external"]
    from breastnet.model.variants import TABLE1

    # One page per paper row; the floor (a reference row, no network) has its row in Table 1 only.
    paper_rows = [v for v in get_profile("smoke").variants if v in TABLE1]
    assert len([n for n in names if n.startswith("02_variant_")]) == len(paper_rows)
    for nb in smoke_book.notebooks:
        assert (smoke_book.html / "book" / "generated" / f"{nb.stem}.html").is_file()


def test_table1_has_a_number_in_every_cell_we_ran(smoke_book):
    from bs4 import BeautifulSoup

    from breastnet.report import PAPER_TABLE1
    from breastnet.train.profiles import get_profile

    soup = BeautifulSoup(page(smoke_book, "book/generated/05_results.html"), "html.parser")
    table = soup.find("table", id="table1")
    assert table is not None, "Table 1 is missing from the results page"
    rows = {tr["data-variant"]: tr for tr in table.find("tbody").find_all("tr")}
    variants = get_profile("smoke").variants
    assert list(rows) == list(variants)
    for variant, tr in rows.items():
        ours = tr.find_all("td", class_="ours")
        # accuracy, sensitivity, specificity, AUC, balanced accuracy; RMSE and CC for multi-task rows
        expected = 7 if variant.endswith("DMTL") else 5
        assert len(ours) == expected, variant
        for cell in ours:
            assert "empty" not in cell["class"], f"{variant}: a cell without runs"
            mean = cell.find("span", class_="mean")
            assert mean and re.match(r"-?\d\.\d{3}", mean.get_text(strip=True)), f"{variant}: {cell.get_text()!r}"
        if variant in PAPER_TABLE1:  # the floor is ours: no paper value
            accuracy = tr.find("td", attrs={"data-metric": "accuracy"})
            assert accuracy.find("span", class_="paper").get_text() == f"paper {PAPER_TABLE1[variant]['accuracy']:.4f}"


def test_every_figure_file_is_there(smoke_book):
    from bs4 import BeautifulSoup

    html = smoke_book.html
    pages = sorted(html.rglob("*.html"))
    images = {}
    for path in pages:
        text = path.read_text(encoding="utf-8")
        assert "<Figure size" not in text and "&lt;Figure size" not in text, f"{path.name}: a figure became text"
        for img in BeautifulSoup(text, "html.parser").find_all("img"):
            src = img["src"]
            if src.startswith("data:") or src.startswith("http"):
                continue
            target = (path.parent / src).resolve()
            assert target.is_file(), f"{path.relative_to(html)}: missing image {src}"
            images.setdefault(path.relative_to(html).as_posix(), []).append(src)
    expected = {
        "book/method.html": 1,
        "book/generated/01_data.html": 1,
        "book/generated/03_alpha_spectra.html": 2,
        "book/generated/04_pca.html": 1,
        "book/generated/05_results.html": 2,
    }
    for name, count in expected.items():
        assert len(images.get(name, [])) >= count, f"{name}: {images.get(name)}"
    variant_pages = [p for p in images if "02_variant_" in p]
    assert variant_pages and all(len(images[p]) >= 2 for p in variant_pages)  # learning curves, confusion


def test_no_unresolved_glue_and_no_unexplained_warning(smoke_book):
    assert not [w for w in smoke_book.warnings if "glue" in w.lower()]
    assert unexplained(smoke_book.warnings) == []
    for path in smoke_book.html.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert "{glue" not in text, f"{path.name}: an unrendered glue role"
        assert "tag_injected-parameters" not in text, f"{path.name}: papermill's parameters cell is shown"


def test_pages_say_the_data_are_synthetic(smoke_book):
    assert "book/intro.html" in page(smoke_book, "index.html")  # the front page redirects to the intro
    assert "SYNTHETIC data: not patient data" in page(smoke_book, "book/intro.html")
    for name in (
        "book/generated/05_results.html",
        "book/generated/03_alpha_spectra.html",
        "book/generated/04_pca.html",
        "book/discussion.html",
    ):
        assert "SYNTHETIC" in page(smoke_book, name), name
    assert "not testable here" in page(smoke_book, "book/discussion.html")
    # The smoke profile's networks start from random init: the transfer question is said to be untested.
    for name in ("book/intro.html", "book/generated/08_transfer.html"):
        assert "was NOT tested in this build" in page(smoke_book, name), name
    held = page(smoke_book, "book/generated/07_heldout.html")
    assert "held-out images of" in held and "MDE" in held
    # Without an external dataset, chapter 06 says how to give one and shows no numbers.
    external = page(smoke_book, "book/generated/06_external.html")
    assert "Not run in this build" in external and "EXTERNAL_DATA" in external
    assert "_images/" not in external  # no figure (the page's images are the launch buttons' logos)
    title = re.search(r"<title>(.*?)</title>", page(smoke_book, "book/generated/02_variant_09_E-DMTL.html"), re.S)
    assert "E-DMTL" in title.group(1)


def test_result_pages_launch_and_edit_their_template(smoke_book):
    """Generated pages are not in the repository: their buttons open the notebook template instead."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page(smoke_book, "book/generated/02_variant_09_E-DMTL.html"), "html.parser")
    links = [a.get("href", "") for a in soup.find_all("a")]
    binder = [u for u in links if u.startswith("https://mybinder.org/v2/gh/example-org/breastnet/main")]
    colab = [u for u in links if u.startswith("https://colab.research.google.com/github/example-org/breastnet")]
    edit = [u for u in links if u.startswith("https://github.com/example-org/breastnet/edit/main/")]
    assert binder and binder[0].endswith("urlpath=lab/tree/notebooks/02_variant.ipynb"), binder
    assert colab == [
        "https://colab.research.google.com/github/example-org/breastnet/blob/main/notebooks/02_variant.ipynb"
    ]
    assert edit == ["https://github.com/example-org/breastnet/edit/main/notebooks/02_variant.ipynb"]
    assert not [u for u in links if "book/generated/" in u and ".ipynb" in u and u.startswith("https://")]
    # A page written by hand keeps its own source.
    method = BeautifulSoup(page(smoke_book, "book/method.html"), "html.parser")
    assert "https://github.com/example-org/breastnet/edit/main/book/method.md" in [
        a.get("href") for a in method.find_all("a")
    ]


@pytest.mark.skipif(
    shutil.which("latexmk") is None or shutil.which("xelatex") is None,
    reason="TeX is not installed (apt-get install texlive-latex-extra texlive-xetex latexmk fonts-freefont-otf)",
)
def test_pdf_has_the_tables_and_no_html_placeholders(smoke_book):
    """`make pdf`: the LaTeX builder gets each HTML table's Markdown twin, not '<IPython...HTML object>'."""
    from breastnet.book.publish import build_pdf

    pdf = build_pdf(smoke_book.html.parents[1], log=print)
    assert pdf.name == "breastnet-reproduced.pdf" and pdf.stat().st_size > 100_000
    tex = pdf.with_suffix(".tex").read_text(encoding="utf-8")
    assert "IPython.core.display" not in tex
    assert "descriptors + logistic regression (floor) (reference row of ours" in tex  # Table 1's floor row
    assert "SYNTHETIC data: not patient data" in tex  # the data box
    assert "glue(" not in tex  # code cells are left out of the PDF


@pytest.fixture(scope="module")
def imagenet_book(smoke_book, tmp_path_factory):
    """The smoke book again, from its result files rewritten to record ImageNet weights.

    No machine here can load the ImageNet weights, so the test changes the one field a run from
    ImageNet writes differently (`weights`) in every network result of the smoke study, and then
    re-runs the transfer chapter as a reader's build would: it finds every study run, trains the
    random-init twins of `transfer_variants` (CV and held-out) that are missing, and renders the book.
    """
    import json

    from breastnet.book import build_book

    source = smoke_book.html.parents[1]
    root = tmp_path_factory.mktemp("imagenet-book")
    for name in ("_config.yml", "_toc.yml", "references.bib"):
        shutil.copy(source / name, root / name)
    for name in ("notebooks", "book", "results"):
        shutil.copytree(source / name, root / name, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    rewritten = 0
    for path in sorted((root / "results").rglob("*.json")):
        result = json.loads(path.read_text())
        if isinstance(result, dict) and str(result.get("weights", "")).startswith("random init"):
            result["weights"] = "imagenet"
            path.write_text(json.dumps(result, indent=1))
            rewritten += 1
    assert rewritten > 0
    lines = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BREASTNET_CACHE", str(tmp_path_factory.mktemp("cache")))
        mp.delenv("BREASTNET_DATA", raising=False)
        build = build_book("smoke", None, root / "results", root=root, only=["08_transfer"], log=lines.append)
    print("\n".join(lines))
    return build


def test_a_build_from_imagenet_asks_the_transfer_question(imagenet_book):
    from bs4 import BeautifulSoup

    from breastnet.data.synthetic import synthetic_dataset
    from breastnet.study.plan import study_dataset, study_folder
    from breastnet.study.results import load_results
    from breastnet.train.profiles import get_profile

    root = imagenet_book.html.parents[1]
    profile = get_profile("smoke")
    random = profile.replace(weights=None)  # the twins' profile: its weights are part of the folder's hash
    twin = study_folder(root / "results", study_dataset(synthetic_dataset(), random), random, None, create=False)
    trained = load_results(twin, heldout=True)
    assert {r["run"]["variant"] for r in trained} == set(profile.transfer_variants)  # the twins, nothing else
    assert {r["weights"] for r in trained} == {"random init"}
    assert {r["run"].get("kind", "cv") for r in trained} == {"cv", "heldout"}
    chapter = page(imagenet_book, "book/generated/08_transfer.html")
    assert "NOT tested" not in chapter and "the transfer question is asked" in chapter
    soup = BeautifulSoup(chapter, "html.parser")
    compared = {td.get_text(strip=True) for td in soup.find_all("td")}
    for variant in profile.transfer_variants:
        assert f"{variant} (imagenet) − {variant} (random init)" in compared, variant
    assert "On the held-out patients" in chapter and "Verdict (on the held-out patients)" in chapter
    assert [img for img in soup.find_all("img") if "_images/" in img["src"]], "no forest figure"
    intro = page(imagenet_book, "book/intro.html")
    assert "NOT tested" not in intro and "the transfer question is asked" in intro
