"""Screenshots of every chapter of the built book, as a reader's browser shows them.

    python tools/screenshots.py [--html _build/html] [--out _build/screenshots]
    make screenshots

Headless Chromium (Debian: `apt-get install chromium`) renders each page of `_toc.yml`
(the generated notebook pages included) at 1280 px wide, after giving MathJax and the
figures a few seconds, and writes one PNG per page. Look at them before publishing: they
show what no test of the HTML does (unrendered equations, boxes, overflowing tables).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise FileNotFoundError("no Chromium found: apt-get install chromium (Debian) or set PATH")


def chapter_pages(html: Path) -> list[Path]:
    """The book's pages in reading order: the intro, then what _toc.yml lists (globs expanded)."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    entries = [toc["root"]]

    def walk(items):
        for item in items or []:
            if "file" in item:
                entries.append(item["file"])
            if "glob" in item:
                entries.extend(
                    str(p.relative_to(html).with_suffix("")) for p in sorted(html.glob(item["glob"] + ".html"))
                )
            walk(item.get("sections"))
            walk(item.get("chapters"))

    walk(toc.get("parts"))
    pages = [html / f"{entry}.html" for entry in dict.fromkeys(entries)]
    return [p for p in pages if p.is_file()]


def screenshot(page: Path, out: Path, width: int = 1280, height: int = 3000, wait_ms: int = 6000) -> Path:
    """One page as a PNG (the first `height` pixels of it)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [browser(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--virtual-time-budget={wait_ms}", f"--window-size={width},{height}", f"--screenshot={out}",
         page.resolve().as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/screenshots.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--html", default=str(ROOT / "_build" / "html"), help="the built book")
    parser.add_argument("--out", default=str(ROOT / "_build" / "screenshots"), help="folder of the PNGs")
    args = parser.parse_args(argv)
    html = Path(args.html)
    pages = chapter_pages(html)
    if not pages:
        print(f"no built page under {html}: make book first", file=sys.stderr)
        return 1
    for page in pages:
        name = str(page.relative_to(html).with_suffix("")).replace("/", "__")
        print(screenshot(page, Path(args.out) / f"{name}.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
