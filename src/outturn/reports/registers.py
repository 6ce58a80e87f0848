"""The risk register's rows as documents: one builder for ``outturn risks list --format json``, the board pack's
register and the web overview's top risks, so a risk reads the same everywhere.

``likelihood`` is the stored decimal as a string without trailing zeros (``"0.5"``: exact, as JSON numbers are
not), and
``expected_pence`` is ``RiskItem.expected_pence``: value × likelihood rounded by the domain's one rule (half away
from zero), so a 5p risk at 50% is 3p on every screen."""

from __future__ import annotations

from typing import Any

from outturn.domain.plans import RiskItem


def risk_row(item: RiskItem) -> dict[str, Any]:
    return {
        "org_code": item.org_code,
        "kind": item.kind.value,
        "description": item.description,
        "value_pence": item.value_pence,
        "likelihood": format(item.likelihood.normalize(), "f"),
        "expected_pence": item.expected_pence,
        "category": item.category.value if item.category else None,
    }
