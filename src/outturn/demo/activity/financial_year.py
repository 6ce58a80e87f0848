"""The financial year SYNTHETIC activity falls in, and how activity spreads over its days."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa

from outturn.demo.reference_inputs import FloatArray, IntArray

DAY_PROFILES = ("planned", "non_elective", "ae")


def day_weights(start: date, days: int, profile: str) -> FloatArray:
    """Relative activity on each day of the financial year: planned care on weekdays with dips at Easter, in August
    and over Christmas; emergency care every day with a mild winter peak."""
    day = np.arange(days)
    calendar = np.datetime64(start.isoformat()) + day
    weekday = (calendar.astype("datetime64[D]").astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    month = calendar.astype("datetime64[M]").astype(np.int64) % 12 + 1
    month_day = (calendar - calendar.astype("datetime64[M]")).astype(np.int64) + 1
    winter = np.cos(2 * np.pi * (day - 289) / 365.25)  # peaks about 15 January
    if profile == "planned":
        weights = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.06, 0.03])[weekday]
        weights *= np.select([month == 4, month == 8, month == 12], [0.95, 0.9, 0.85], default=1.0)
        holiday = ((month == 12) & np.isin(month_day, (25, 26))) | ((month == 1) & (month_day == 1))
        return np.where(holiday, 0.02, weights)
    if profile == "non_elective":
        return np.asarray(np.array([1.05, 1.0, 1.0, 1.0, 1.0, 0.92, 0.9])[weekday] * (1.0 + 0.08 * winter), np.float64)
    return np.asarray(np.array([1.1, 1.0, 1.0, 1.0, 1.0, 0.98, 1.0])[weekday] * (1.0 + 0.05 * winter), np.float64)


@dataclass(frozen=True)
class FinancialYear:
    """1 April ``year`` to 31 March ``year + 1``, its days numbered from 0, with a day profile per kind of care."""

    year: int
    start_epoch_day: int
    days: int
    day_cdf: Mapping[str, FloatArray]

    @classmethod
    def starting(cls, year: int) -> FinancialYear:
        start = date(year, 4, 1)
        days = (date(year + 1, 4, 1) - start).days
        return cls(
            year=year,
            start_epoch_day=(start - date(1970, 1, 1)).days,
            days=days,
            day_cdf={profile: np.cumsum(day_weights(start, days, profile)) for profile in DAY_PROFILES},
        )

    @property
    def last_day(self) -> int:
        return self.days - 1

    def draw_days(self, rng: np.random.Generator, profile: str, last: IntArray) -> IntArray:
        """Days of the year (0 = 1 April) by the profile's weights, each at most ``last`` (per row)."""
        cdf = self.day_cdf[profile]
        limit = cdf[last] * rng.random(len(last))
        return np.asarray(np.searchsorted(cdf, limit, side="right"), dtype=np.int64)

    def draw_days_in_year(self, rng: np.random.Generator, profile: str, size: int) -> IntArray:
        """``size`` days anywhere in the year by the profile's weights."""
        return self.draw_days(rng, profile, np.full(size, self.last_day))

    def dates(self, day: IntArray) -> pa.Array:
        """Days of the year as an Arrow date column."""
        return pa.array((day + self.start_epoch_day).astype(np.int32), type=pa.int32()).view(pa.date32())
