"""Forecast method settings in the store. Callers pass the session; services own the transaction and the audit."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from outturn.domain.forecast import ForecastMethod
from outturn.domain.forecast_methods import MethodScope, MethodSetting
from outturn.domain.ledger import CostCategory
from outturn.store.models import ForecastMethodSettingRow
from outturn.store.repository import now


def _setting(row: ForecastMethodSettingRow) -> MethodSetting:
    return MethodSetting(
        org_code=row.org_code,
        category=CostCategory(row.category),
        method=ForecastMethod(row.method),
        subcategory=row.subcategory if row.scope == MethodScope.LINE.value else None,
        reason=row.reason,
    )


def _row_key(setting: MethodSetting) -> tuple[str, str, str, str]:
    org_code, category, scope, subcategory = setting.key
    return org_code, category.value, scope.value, subcategory


def get_setting(session: Session, setting: MethodSetting) -> MethodSetting | None:
    """The stored setting with the same organisation, category and line as ``setting``, if any."""
    row = session.get(ForecastMethodSettingRow, _row_key(setting))
    return _setting(row) if row is not None else None


def save_setting(session: Session, setting: MethodSetting, who: str) -> None:
    key = _row_key(setting)
    row = session.get(ForecastMethodSettingRow, key) or ForecastMethodSettingRow(
        org_code=key[0], category=key[1], scope=key[2], subcategory=key[3]
    )
    row.method, row.reason, row.set_by, row.set_at = setting.method.value, setting.reason, who, now()
    session.add(row)
    session.flush()


def delete_setting(session: Session, setting: MethodSetting) -> bool:
    row = session.get(ForecastMethodSettingRow, _row_key(setting))
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


# look-alike of contracts_repository.load_ledger_links: declarative, each table's order and optional filter.
def settings_for(session: Session, org_codes: Collection[str] | None = None) -> list[MethodSetting]:
    """The settings of ``org_codes`` (every organisation's when None), by organisation, category, scope, line."""
    statement = select(ForecastMethodSettingRow).order_by(
        ForecastMethodSettingRow.org_code,
        ForecastMethodSettingRow.category,
        ForecastMethodSettingRow.scope,
        ForecastMethodSettingRow.subcategory,
    )
    if org_codes is not None:
        statement = statement.where(ForecastMethodSettingRow.org_code.in_(list(org_codes)))
    return [_setting(row) for row in session.scalars(statement)]
