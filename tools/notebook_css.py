"""The stylesheet shared by notebook pages, made from the CSS mkdocs-jupyter inlines into each of them."""
from __future__ import annotations

from pathlib import Path


def shared_stylesheet(blocks: list[str], site_dir: Path) -> str:
    """One copy of each distinct inlined block, in first-seen order."""
    return "\n".join(dict.fromkeys(b.strip() for b in blocks))
