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
from importlib import resources
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


# The example scenario files ship inside the package (package data), so an installed outturn has them too; the
# repository's examples/scenarios is a link to this folder.
EXAMPLES = resources.files("outturn") / "examples" / "scenarios"
EXAMPLE_SCENARIO = (EXAMPLES / "recovery-2025-26.toml").read_text(encoding="utf-8")


def example_scenario_files() -> dict[str, Path]:
    """The example scenario files, by file name (none where the package is not unpacked on a file system)."""
    folder = Path(str(EXAMPLES))
    if not folder.is_dir():
        return {}
    return {path.name: path for path in sorted(folder.iterdir()) if path.is_file() and path.suffix.lower() in FORMATS}
