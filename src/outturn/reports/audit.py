"""The audit trail as JSON: one builder for every document that shows a thing's changes (a savings scheme in
``outturn savings show``, a challenge in ``outturn contracts challenges history``, and their API twins)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol


class AuditEntry(Protocol):
    """One change from the audit trail (``store.AuditEntry``, as the services return it)."""

    @property
    def at(self) -> datetime: ...
    @property
    def who(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def before(self) -> Mapping[str, Any] | None: ...
    @property
    def after(self) -> Mapping[str, Any] | None: ...


def audit_trail(entries: Sequence[AuditEntry]) -> list[dict[str, Any]]:
    """Each change, in the order given (oldest first): when, who, what, and the thing before and after."""
    return [
        {
            "at": entry.at.isoformat(),
            "who": entry.who,
            "action": entry.action,
            "before": entry.before,
            "after": entry.after,
        }
        for entry in entries
    ]
