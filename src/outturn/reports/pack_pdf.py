"""The board pack as PDF: WeasyPrint lays out the pack's own HTML (print CSS, A4, page numbers).

WeasyPrint needs Pango (``libpango-1.0-0``, ``libpangoft2-1.0-0``) on the machine; it fetches nothing: the HTML
holds its styles and charts inline.
"""

from __future__ import annotations

import logging
from pathlib import Path


def write_pdf(html: str, path: Path) -> Path:
    """Render ``html`` (a whole document) to a PDF at ``path``."""
    from weasyprint import HTML  # type: ignore[import-untyped]  # imports Pango: loaded only for a PDF

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    path.parent.mkdir(parents=True, exist_ok=True)
    HTML(string=html, base_url=str(path.parent)).write_pdf(path)
    return path
