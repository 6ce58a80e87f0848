"""Reading a recovery scenario file (TOML or JSON) into the validated ``Scenario`` model.

Every fault is a problem naming the file and where in it: a TOML or JSON syntax error by line, a lever's fault by
its path (``levers[2].percent``) with the reason; all of a file's faults are found in one pass and reported
together. A file with any problem gives no scenario.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from outturn.domain.problems import Problem
from outturn.domain.scenarios import LEVER_TYPES, MAX_LEVERS, Scenario

FORMATS = {".toml": "TOML", ".json": "JSON"}
_ALLOWED_TYPES = ", ".join(LEVER_TYPES)


def field_path(location: Sequence[int | str]) -> str:
    """A pydantic error location as a path: ``('levers', 2, 'gp_referral_cut', 'percent')`` is
    ``levers[2].percent`` (the lever's type, which pydantic puts in the location, is left out)."""
    path = ""
    previous: int | str | None = None
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(previous, int) and part in LEVER_TYPES:
            pass
        else:
            path += f".{part}" if path else str(part)
        previous = part
    return path


def _reason(error: Any) -> str:
    kind, message = error["type"], str(error["msg"])
    if kind == "union_tag_invalid":
        found = error.get("ctx", {}).get("tag", "")
        return f"unknown lever type {found!r} (one of: {_ALLOWED_TYPES})"
    if kind == "union_tag_not_found":
        return f"a lever needs a type (one of: {_ALLOWED_TYPES})"
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        return "not a setting of this lever or scenario (check the spelling against `outturn scenario schema`)"
    if kind == "too_long" and tuple(error["loc"]) == ("levers",):
        found = error.get("ctx", {}).get("actual_length")
        given = f", not {found}" if found is not None else ""
        return f"a scenario holds at most {MAX_LEVERS} levers{given}: split it into smaller scenarios"
    return message.removeprefix("Value error, ")


def validation_problems(source: str, error: ValidationError) -> list[Problem]:
    errors = error.errors()
    inner = [item["loc"] for item in errors]
    return [
        Problem(source, f"{path}: {_reason(item)}" if (path := field_path(item["loc"])) else _reason(item))
        for item in errors
        # a list left too short only because its items failed says nothing more
        if not (
            item["type"] == "too_short"
            and any(len(loc) > len(item["loc"]) and loc[: len(item["loc"])] == item["loc"] for loc in inner)
        )
    ]


def _syntax_line(message: str) -> int | None:
    found = re.search(r"line (\d+)", message)
    return int(found.group(1)) if found else None


def _parse(path: Path, text: str) -> tuple[Any, list[Problem]]:
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        return None, [Problem(path.name, f"a scenario file is .toml or .json, not {path.suffix or 'no suffix'!r}")]
    try:
        data = tomllib.loads(text) if kind == "TOML" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        return None, [Problem(path.name, f"not valid {kind}: {error}", row=_syntax_line(str(error)))]
    if not isinstance(data, dict):
        return None, [Problem(path.name, f"the {kind} document must be a table of settings with a list of levers")]
    return data, []


def read_scenario(path: Path) -> tuple[Scenario | None, list[Problem]]:
    """The scenario in ``path``, or ``None`` and every problem found."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return None, [Problem(path.name, f"cannot read the file: {error}")]
    data, problems = _parse(path, text)
    if problems:
        return None, problems
    try:
        return Scenario.model_validate(data), []
    except ValidationError as error:
        return None, validation_problems(path.name, error)


EXAMPLE_SCENARIO = """\
# A recovery scenario for the demo workspace (`make demo`): NHS Buckinghamshire, Oxfordshire and Berkshire
# West ICB at M08 2025/26. Levers apply in this order, each to the position the ones before it left.
# Run it: outturn -w demo-workspace scenario run examples/scenarios/recovery-2025-26.toml
# Every figure below is ILLUSTRATIVE; the demo's ledger and activity are SYNTHETIC.
name = "Recovery plan 2025/26"
description = "Demand management, contract and running-cost levers to close the forecast gap"
org = "QU9"
as_at = "2025-11"

# The public example: a 10% cut in GP referrals across all practices (valued at £975k a year in one PCT).
[[levers]]
type = "gp_referral_cut"
percent = 10

# A further cut for Buckinghamshire's practices in trauma and orthopaedics, from January. A practice group is
# any list of practice, PCN, sub-ICB or ICB codes.
[[levers]]
type = "gp_referral_cut"
label = "Musculoskeletal triage, Buckinghamshire practices (5% more)"
percent = 5
practices = ["14Y"]
treatment_functions = ["110"]
start_month = "M10"

# Outpatient follow-ups above all providers' ratio for the specialty are stopped.
[[levers]]
type = "follow_up_ratio"

# Procedures of limited clinical value: minor hand procedures and children's tonsillectomy.
[[levers]]
type = "plcv_threshold"
hrgs = ["HN45A", "CA60B"]
percent = 50

[[levers]]
type = "generic_prescribing"
target_percent = 90
current_percent = 84.5
annual_items = 9_800_000
generic_item_cost = "£6.10"
branded_item_cost = "£21.40"

[[levers]]
type = "contract_value_cut"
provider = "RTH"
commissioner = "10Q"
amount = "£2m"

[[levers]]
type = "vacancy_control"
monthly_saving = "£60k"

[[levers]]
type = "bed_closure"
label = "Community hospital ward closed"
beds = 12
cost_per_bed_day = "£350"
occupancy_percent = 92
reprovision_percent = 30

# A new town of 6,000 people, younger than average.
[[levers]]
type = "population_growth"
people = 6_000
age_profile = [
  { band = "0-17", share_percent = 28, cost_index = 0.6 },
  { band = "18-64", share_percent = 60, cost_index = 0.9 },
  { band = "65+", share_percent = 12, cost_index = 2.6 },
]

[[levers]]
type = "tariff_change"
percent = -1.1

[[levers]]
type = "non_recurrent"
label = "Estates disposal"
amount = "£1.5m"
month = "M11"
category = "other_programme"
"""
