"""Matching the words people type to codes: case, spacing and punctuation do not matter."""

from __future__ import annotations


def normalise_key(text: str) -> str:
    """``Mental Health``, ``mental-health`` and `` MENTAL_HEALTH `` all become ``mental_health``."""
    cleaned = "".join(ch if ch.isalnum() else " " for ch in text.strip().lower())
    return "_".join(cleaned.split())
