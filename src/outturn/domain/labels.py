"""Matching the words people type to codes: case, spacing and punctuation do not matter."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

from outturn.domain.errors import BadInput

T = TypeVar("T")


def normalise_key(text: str) -> str:
    """``Mental Health``, ``mental-health`` and `` MENTAL_HEALTH `` all become ``mental_health``."""
    cleaned = "".join(ch if ch.isalnum() else " " for ch in text.strip().lower())
    return "_".join(cleaned.split())


def look_up(aliases: Mapping[str, T], text: str, what: str, allowed: Iterable[str]) -> T:
    """The code a typed word stands for, or a ValueError naming what was expected."""
    found = aliases.get(normalise_key(text))
    if found is None:
        raise BadInput(f"unknown {what} {text!r} (one of: {', '.join(allowed)})")
    return found
