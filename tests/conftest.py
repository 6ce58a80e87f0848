"""Shared fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The public NHS reference data (``OUTTURN_REFERENCE_DIR``, else ``../shared/reference-data``)."""
    configured = os.environ.get("OUTTURN_REFERENCE_DIR")
    path = Path(configured) if configured else Path(__file__).resolve().parents[2] / "shared" / "reference-data"
    if not path.is_dir():
        pytest.skip(f"reference data directory not found: {path} (set OUTTURN_REFERENCE_DIR)")
    return path
