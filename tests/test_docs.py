"""The documents: every dated measurement in one place, a README a newcomer reads in minutes.

`benchmarks/LOG.md` holds every dated measurement once, one entry per heading
("## 2026-12-08 BUS-BRA book"). Elsewhere a date may only appear in a citation of an entry,
"LOG.md, " followed by the entry's heading ("benchmarks/LOG.md, 2026-12-08 BUS-BRA book"), and a
build time or an AUC next to such a citation must be one the cited entry holds. Reads text
files only: no Keras, no breastnet import.
"""

from __future__ import annotations

import ast
import functools
import io
import json
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LOG = ROOT / "benchmarks" / "LOG.md"
DATE = re.compile(r"(?<!\d)20\d\d-[01]\d-[0-3]\d(?!\d)")
CITATION = "LOG.md, "
#: A build or run time in minutes, and an AUC-like figure with three decimals.
MINUTES = re.compile(r"(?<![\d.])\d+\.\d+ ?min\b")
FIGURE = re.compile(r"(?<![\d.])0\.\d{3}(?![\d.])")
#: Dates that name no measurement, in files this test does not reword: when a field of the
#: result files appeared.
NOT_MEASUREMENTS = ("files before 2026-12-02",)
#: Every entry names these.
FIELDS = ("**Commit:**", "**CPU:**", "**Command:**", "**JSON:**")


def normal(text: str) -> str:
    return " ".join(text.split())


def log_entries() -> dict[str, str]:
    """Heading ("2026-12-08 BUS-BRA book") -> the entry's text, in the log's order."""
    text = LOG.read_text()
    parts = re.split(r"^## (20\d\d-\d\d-\d\d .+)$", text, flags=re.M)
    headings = [normal(h) for h in parts[1::2]]
    assert len(headings) == len(set(headings)), "two log entries share a heading"
    return dict(zip(headings, (normal(body) for body in parts[2::2])))


def markdown_blocks(text: str) -> list[str]:
    """Paragraphs and list items; a table belongs to the paragraph before it (its caption)."""
    blocks: list[list[str]] = []
    fresh = True
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            fresh = True
            continue
        item = re.match(r"([-*]|\d+\.) ", stripped)
        table = stripped.startswith("|")
        if blocks and table and (fresh or blocks[-1][-1].lstrip().startswith("|")):
            blocks[-1].append(line)
        elif fresh or item:
            blocks.append([line])
        else:
            blocks[-1].append(line)
        fresh = False
    return [normal("\n".join(b)) for b in blocks]


def python_blocks(text: str) -> list[str]:
    """Runs of comment lines, and the paragraphs of every docstring."""
    blocks, run, last = [], [], None
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.COMMENT:
            line = tok.start[0]
            if run and last is not None and line != last + 1:
                blocks.append(" ".join(run))
                run = []
            run.append(tok.string.lstrip("#").strip())
            last = line
    if run:
        blocks.append(" ".join(run))
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            doc = ast.get_docstring(node)
            if doc:
                blocks.extend(normal(p) for p in re.split(r"\n\s*\n", doc))
    return blocks


def hash_comment_blocks(text: str) -> list[str]:
    """Runs of `#` comment lines (Makefile, workflows)."""
    blocks, run = [], []
    for line in text.splitlines() + [""]:
        code, _, comment = line.partition("#")
        if comment and not code.strip():
            run.append(comment.strip())
        elif run:
            blocks.append(normal(" ".join(run)))
            run = []
    return blocks


@functools.cache
def documents() -> dict[str, list[str]]:
    """Every document other than the log, as its blocks of prose."""
    docs = {}
    for path in [ROOT / "README.md", ROOT / "benchmarks" / "README.md", *sorted((ROOT / "book").glob("*.md"))]:
        docs[path.relative_to(ROOT).as_posix()] = markdown_blocks(path.read_text())
    for folder in ("breastnet", "benchmarks", "tools"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            docs[path.relative_to(ROOT).as_posix()] = python_blocks(path.read_text())
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        text = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        docs[path.relative_to(ROOT).as_posix()] = markdown_blocks(text)
    for path in [ROOT / "Makefile", *sorted((ROOT / ".github" / "workflows").glob("*.yml"))]:
        if path.exists():
            docs[path.relative_to(ROOT).as_posix()] = hash_comment_blocks(path.read_text())
    return docs


def cited(block: str, entries: dict[str, str]) -> list[str]:
    """The log entries a block cites (the longest heading where one heading begins another)."""
    found = []
    for match in re.finditer(re.escape(CITATION), block):
        rest = block[match.end() :]
        found += sorted((h for h in entries if rest.startswith(h)), key=len)[-1:]
    return found


def problems(blocks: list[str], entries: dict[str, str]) -> list[str]:
    """Dates that cite no entry, figures a cited entry does not hold, build times with no citation."""
    found = []
    for block in blocks:
        exempt = set()
        for phrase in NOT_MEASUREMENTS:
            at = block.find(phrase)
            if at >= 0:
                exempt.update(at + m.start() for m in DATE.finditer(phrase))
        for match in DATE.finditer(block):
            rest, before = block[match.start() :], block[: match.start()]
            if match.start() in exempt:
                continue
            if not (before.endswith(CITATION) and any(rest.startswith(h) for h in entries)):
                context = block[max(0, match.start() - 60) :][:140]
                found.append(f"date without a citation of a log entry: ...{context}...")
        sources = cited(block, entries)
        if sources:
            held = " ".join(entries[h] for h in sources)
            for figure in MINUTES.findall(block) + FIGURE.findall(block):
                if figure.replace(" ", "") not in held.replace(" ", ""):
                    found.append(f"{figure!r} is not in the cited entries {sources}: {block[:120]}...")
        else:
            for figure in MINUTES.findall(block):
                found.append(f"{figure!r} with no citation of a log entry: {block[:160]}...")
    return found


def test_every_log_entry_is_dated_once_and_says_what_ran():
    entries = log_entries()
    assert len(entries) >= 20
    dates = [h[:10] for h in entries]
    assert dates == sorted(dates, reverse=True), "entries go newest first"
    for heading, body in entries.items():
        missing = [f for f in FIELDS if f not in body]
        assert not missing, f"log entry {heading!r} lacks {missing}"


@pytest.mark.parametrize("name", sorted(documents()))
def test_a_dated_figure_outside_the_log_is_a_citation_of_it(name):
    assert not problems(documents()[name], log_entries())


def test_the_check_fails_on_a_copied_figure():
    entries = log_entries()
    heading = "2026-12-08 BUS-BRA book"
    assert heading in entries
    assert problems([f"The BUS-BRA book took 58.8 min (LOG.md, {heading})."], entries) == []
    assert problems(["The BUS-BRA book took 96.0 min on an AVX2-only AMD EPYC (2026-12-03)."], entries)
    assert problems(["The BUS-BRA book took 96.0 min on an AVX2-only AMD EPYC."], entries)
    assert problems([f"The BUS-BRA book took 96.0 min (LOG.md, {heading})."], entries)
    assert problems([f"DSTL reached 0.999 (LOG.md, {heading})."], entries)


README = (ROOT / "README.md").read_text()


def test_the_readme_is_short_and_starts_with_the_two_commands():
    lines = README.splitlines()
    assert len(lines) < 150
    first = [line.strip() for line in lines[:30]]
    assert any(line.startswith("make book") for line in first)
    assert any(line.startswith("make test") for line in first)


def readme_paths(text: str) -> set[str]:
    """The first word of each line of the layout block, and every backquoted path of the repository."""
    layout = re.search(r"^## Layout\n.*?^```\n(.*?)^```", text, flags=re.M | re.S)
    assert layout, "the README has a ## Layout section with a code block"
    paths = {line.split()[0] for line in layout.group(1).splitlines() if line.strip()}
    tops = "breastnet|benchmarks|book|notebooks|tests|tools"
    paths |= set(re.findall(rf"`((?:{tops})/[\w./-]*)`", text))
    return paths


def test_every_path_the_readme_names_exists():
    missing = sorted(p for p in readme_paths(README) if not (ROOT / p).exists())
    assert not missing
