"""MkDocs hooks (mkdocs.yml ``hooks``): BENCHMARKS.md in the site, and links to it that work in both places.

The benchmarks rewrite their sections of ``BENCHMARKS.md`` at the repository root (its images point into
``docs/``). The site's ``benchmarks.md`` page shows that file where it holds the marker line, and a page's
link to ``../BENCHMARKS.md`` (right on GitHub and in a checkout) leads to that page on the site.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MARKER = "<!-- BENCHMARKS.md goes here (docs/hooks.py) -->"


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """Insert BENCHMARKS.md into ``benchmarks.md``; point links to ``../BENCHMARKS.md`` at that page."""
    depth = page.file.src_uri.count("/")  # 0 for docs/x.md, 1 for docs/chapters/x.md
    if MARKER in markdown:
        text = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
        text = text.replace("](docs/", "](")  # its images, relative to the root, now relative to docs/
        text = re.sub(r"^# .*\n", "", text, count=1)  # the page has its own title
        markdown = markdown.replace(MARKER, text)
    up = "../" * depth
    return markdown.replace(f"]({up}../BENCHMARKS.md", f"]({up}benchmarks.md")
