"""Forecast method settings: set, clear and list, each change in its own transaction with its audit entry.

A setting chooses the method for an organisation's category, or one of its ledger lines, and applies to the
organisations under it too (precedence: outturn.domain.forecast_methods). The audit log records who changed it,
when, and the setting before and after, as it does for savings schemes and targets.
"""

from __future__ import annotations

from typing import Any

from outturn.domain.errors import BadInput, NotFound
from outturn.domain.forecast import ForecastMethod
from outturn.domain.forecast_methods import MethodSetting
from outturn.services.contract_ledger import check_contract_line
from outturn.services.workspace import Workspace
from outturn.store import method_settings, repository
from outturn.store.database import StoreSession
from outturn.store.savings_repository import AuditEntry, history, record_change

AUDIT_ENTITY = "forecast-method"


def setting_to_data(setting: MethodSetting) -> dict[str, Any]:
    """A setting as plain data: for the audit log and JSON output."""
    return {
        "org_code": setting.org_code,
        "category": setting.category.value,
        "scope": setting.scope.value,
        "subcategory": setting.subcategory,
        "method": setting.method.value,
        "reason": setting.reason,
    }


def audit_key(setting: MethodSetting) -> str:
    return f"{setting.org_code} {setting.category.value}" + (
        f" / {setting.subcategory}" if setting.subcategory is not None else ""
    )


def _check_org(session: StoreSession, org_code: str) -> None:
    if org_code not in repository.org_tree(session):
        raise NotFound(f"unknown organisation {org_code!r}")


def _check_contract_line(session: StoreSession, setting: MethodSetting) -> None:
    """The contract method is set on a line that carries a contract's value, never on a whole category."""
    if setting.subcategory is None:
        raise BadInput(
            f"the contract method is set per ledger line, not for a whole category ({setting.org_code} "
            f"{setting.category.value}): name the line that carries the contract's value"
        )
    check_contract_line(session, (setting.org_code, setting.category, setting.subcategory))


def set_method(workspace: Workspace, setting: MethodSetting, who: str) -> MethodSetting | None:
    """Store the setting (replacing one for the same organisation, category and line); the one it replaced."""
    with workspace.store.transaction() as session:
        _check_org(session, setting.org_code)
        if setting.method is ForecastMethod.CONTRACT:
            _check_contract_line(session, setting)
        before = method_settings.get_setting(session, setting)
        method_settings.save_setting(session, setting, who)
        record_change(
            session,
            who,
            AUDIT_ENTITY,
            audit_key(setting),
            "set",
            setting_to_data(before) if before else None,
            setting_to_data(setting),
        )
        return before


def clear_method(workspace: Workspace, setting: MethodSetting, who: str) -> MethodSetting | None:
    """Remove the setting for ``setting``'s organisation, category and line; the one removed, or None."""
    with workspace.store.transaction() as session:
        before = method_settings.get_setting(session, setting)
        if before is None:
            return None
        method_settings.delete_setting(session, setting)
        record_change(session, who, AUDIT_ENTITY, audit_key(setting), "clear", setting_to_data(before), None)
        return before


def list_methods(workspace: Workspace, org_code: str | None = None) -> list[MethodSetting]:
    """The settings that bear on one organisation's position (its own, those above it, which apply to it too, and
    those of the organisations under it), or every organisation's."""
    with workspace.store.reading() as session:
        if org_code is None:
            return method_settings.settings_for(session)
        tree = repository.org_tree(session)
        if org_code not in tree:
            raise NotFound(f"unknown organisation {org_code!r}")
        codes = tree.subtree_codes(org_code) | {org.code for org in tree.ancestors(org_code)}
        return method_settings.settings_for(session, codes)


def method_history(workspace: Workspace, setting: MethodSetting) -> list[AuditEntry]:
    """Every change to the setting for ``setting``'s organisation, category and line, oldest first."""
    with workspace.store.reading() as session:
        return history(session, AUDIT_ENTITY, audit_key(setting))
