"""Reading the reference data the activity generator is calibrated to: the national tariff extracts (HRGs with a
price per point of delivery, trim points; outpatient and A&E prices), the National Cost Collection's activity by
department and HRG, the market forces factor file's providers, NHS England's monthly A&E attendances and the
registered population's age bands."""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

DEFAULT_TRIM_DAYS = 5
MAX_AGE = 100
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
_HRG_CODE = re.compile(r"^[A-Z]{2}\d{2}[A-Z]$")
_TREATMENT_FUNCTION_CODE = re.compile(r"^\d{3}$")


def _require(path: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"the activity generator needs {path} (set the reference-data directory)")
    return path


def tariff_file(reference_dir: Path, year: int, suffix: str) -> Path:
    """The national tariff extract for the year (``nt1819_apc_oproc.csv`` for 2018), else the nearest year's."""
    folder = reference_dir / "prices" / "national_tariff"
    wanted = folder / f"nt{year % 100:02d}{(year + 1) % 100:02d}_{suffix}.csv"
    if wanted.is_file():
        return wanted
    candidates = sorted(folder.glob(f"nt[0-9][0-9][0-9][0-9]_{suffix}.csv")) if folder.is_dir() else []
    if not candidates:
        return _require(wanted)

    def start_year(path: Path) -> int:
        return 2000 + int(path.name[2:4])

    return min(candidates, key=lambda path: (abs(start_year(path) - year), -start_year(path)))


def _read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with _require(path).open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = [name.strip().lower() for name in next(reader)]
        return header, [row for row in reader if row]


def _column(header: Sequence[str], prefix: str, path: Path) -> int:
    for index, name in enumerate(header):
        if name.startswith(prefix):
            return index
    raise ValueError(f"{path.name}: no column starting {prefix!r}")


def _number(text: str) -> float | None:
    cleaned = text.strip().replace(",", "").replace("£", "")
    try:
        return float(cleaned)
    except ValueError:
        return None


@dataclass(frozen=True)
class TariffHrgs:
    codes: list[str]
    elective: BoolArray
    day_case: BoolArray
    non_elective: BoolArray
    op_procedure: BoolArray
    elective_trim: IntArray
    non_elective_trim: IntArray


def read_apc_tariff(path: Path) -> TariffHrgs:
    header, rows = _read_rows(path)
    col = {
        key: _column(header, prefix, path)
        for key, prefix in (
            ("hrg", "hrg code"),
            ("op", "outpatient procedure tariff"),
            ("combined", "combined day case"),
            ("dc", "day case spell tariff"),
            ("el", "ordinary elective spell tariff"),
            ("el_trim", "ordinary elective long stay trim"),
            ("nel", "non-elective spell tariff"),
            ("nel_trim", "non-elective long stay trim"),
        )
    }
    width = max(col.values()) + 1
    kept = [row for row in rows if len(row) >= width and _HRG_CODE.match(row[col["hrg"]].strip())]

    def priced(*keys: str) -> BoolArray:
        return np.array([any((_number(row[col[key]]) or 0) > 0 for key in keys) for row in kept], dtype=np.bool_)

    def trim(key: str) -> IntArray:
        return np.array([int(_number(row[col[key]]) or DEFAULT_TRIM_DAYS) for row in kept], dtype=np.int64)

    return TariffHrgs(
        codes=[row[col["hrg"]].strip() for row in kept],
        elective=priced("combined", "el"),
        day_case=priced("combined", "dc"),
        non_elective=priced("nel"),
        op_procedure=priced("op"),
        elective_trim=np.maximum(trim("el_trim"), 1),
        non_elective_trim=np.maximum(trim("nel_trim"), 2),
    )


def read_op_tariff(path: Path) -> list[tuple[str, bool]]:
    """Treatment functions with a first-attendance price, and whether each has a follow-up price."""
    header, rows = _read_rows(path)
    code, first, follow_up = (_column(header, prefix, path) for prefix in ("treatment function code", "wf01b", "wf01a"))
    found = []
    for row in rows:
        if len(row) <= max(code, first, follow_up) or not _TREATMENT_FUNCTION_CODE.match(row[code].strip()):
            continue
        if (_number(row[first]) or 0) > 0:
            found.append((row[code].strip(), (_number(row[follow_up]) or 0) > 0))
    return found


def read_ae_tariff(path: Path) -> list[str]:
    header, rows = _read_rows(path)
    code = _column(header, "hrg code", path)
    return [row[code].strip() for row in rows if len(row) > code and _HRG_CODE.match(row[code].strip())]


def read_ncc(path: Path) -> dict[str, dict[str, float]]:
    """Activity by lower-cased department name and currency (HRG) code."""
    header, rows = _read_rows(path)
    department, currency, activity = (
        _column(header, name, path) for name in ("department", "currency_code", "activity")
    )
    found: dict[str, dict[str, float]] = {}
    for row in rows:
        if len(row) <= max(department, currency, activity):
            continue
        count = _number(row[activity]) or 0.0
        if count > 0:
            by_code = found.setdefault(row[department].strip().lower(), {})
            by_code[row[currency].strip()] = by_code.get(row[currency].strip(), 0.0) + count
    return found


def ncc_activity(ncc: Mapping[str, Mapping[str, float]], names: Sequence[str]) -> dict[str, float]:
    for name in names:
        if name in ncc:
            return dict(ncc[name])
    return {}


def read_mff_providers(reference_dir: Path) -> list[str]:
    folder = reference_dir / "prices" / "national_tariff"
    files = sorted(folder.glob("nt*_mff_values.csv")) if folder.is_dir() else []
    path = files[-1] if files else _require(folder / "nt1719_mff_values.csv")
    header, rows = _read_rows(path)
    code = _column(header, "provider code", path)
    return [row[code].strip() for row in rows if len(row) > code and row[code].strip()]


def read_ae_attendances(reference_dir: Path, year: int) -> dict[str, FloatArray]:
    """Attendances of the financial year by provider and department type (1, 2, other): NHS England's monthly A&E
    statistics; the whole file where it does not cover the year; empty where the file is absent."""
    path = reference_dir / "nhsrdatasets" / "ae_attendances.csv"
    if not path.is_file():
        return {}
    header, rows = _read_rows(path)
    period, org, kind, attendances = (_column(header, name, path) for name in ("period", "org_code", "type", "attend"))
    first, last = f"{year}-04", f"{year + 1}-03"
    slot = {"1": 0, "2": 1}
    by_year: dict[str, FloatArray] = {}
    every: dict[str, FloatArray] = {}
    for row in rows:
        if len(row) <= max(period, org, kind, attendances):
            continue
        count = _number(row[attendances]) or 0.0
        counts = every.setdefault(row[org].strip(), np.zeros(3))
        counts[slot.get(row[kind].strip(), 2)] += count
        if first <= row[period][:7] <= last:
            counts = by_year.setdefault(row[org].strip(), np.zeros(3))
            counts[slot.get(row[kind].strip(), 2)] += count
    return by_year or every


def age_pyramid(reference_dir: Path) -> FloatArray:
    """Registered population by single year of age 0..100: the latest Patient List Size file's age bands summed
    over every practice, each band spread evenly (75+ tapering); a smooth approximation where absent."""
    folder = reference_dir / "openprescribing"
    files = sorted(folder.glob("Patient_List_Size_*.csv")) if folder.is_dir() else []
    ages = np.arange(MAX_AGE + 1)
    taper = 0.9 ** np.clip(ages - 75, 0, None)
    if not files:
        return np.where(ages < 55, 1.0, np.where(ages < 75, 1.0 - (ages - 55) / 40.0, 0.5 * taper))
    header, rows = _read_rows(files[-1])
    pyramid = np.zeros(MAX_AGE + 1)
    for index, name in enumerate(header):
        match = re.match(r"^(?:male|female) (\d+)(?:-(\d+)|\+)$", name)
        if not match:
            continue
        total = sum(_number(row[index]) or 0.0 for row in rows if len(row) > index)
        low = int(match.group(1))
        high = int(match.group(2)) if match.group(2) else MAX_AGE
        shape = np.where((ages >= low) & (ages <= high), taper if match.group(2) is None else 1.0, 0.0)
        pyramid += total * shape / shape.sum()
    if pyramid.sum() <= 0:
        raise ValueError(f"{files[-1].name}: no age bands found")
    return pyramid
