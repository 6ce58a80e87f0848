"""The ICD-10 list of chronic ambulatory care sensitive conditions shipped with outturn
(``data/acsc_chronic_icd10.csv``; its header says where it comes from and what it leaves out)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from outturn.domain.problems import Problem, ProblemsError

ACSC_FILE = Path(__file__).parent / "data" / "acsc_chronic_icd10.csv"
ACSC_LIST = "chronic ambulatory care sensitive conditions (NHS Outcomes Framework 2.3.i)"
_CODE = re.compile(r"^[A-Z][0-9]{2}[0-9X]?$")


@dataclass(frozen=True)
class AcscCode:
    """One ICD-10 code (three characters: every code beneath it; four: that code) and its condition."""

    condition: str
    code: str


def read_acsc_codes(path: Path = ACSC_FILE) -> tuple[AcscCode, ...]:
    """The codes in ``path`` (lines starting ``#`` are its notes); a malformed or repeated code is refused."""
    with path.open(newline="", encoding="utf-8") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    codes: list[AcscCode] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for number, row in enumerate(csv.DictReader(lines), start=2):
        code = (row.get("icd10") or "").strip().upper().replace(".", "")
        if not _CODE.match(code) or code in seen:
            reason = "repeated ICD-10 code" if code in seen else "not an ICD-10 code (like I50 or E100)"
            problems.append(Problem(path.name, f"{reason}: {code!r}", row=number, column="icd10"))
            continue
        seen.add(code)
        codes.append(AcscCode((row.get("condition") or "").strip(), code))
    if problems or not codes:
        raise ProblemsError(problems or [Problem(path.name, "no codes")], f"cannot read {path.name}")
    return tuple(codes)
