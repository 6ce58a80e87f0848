"""The one decorator every command wears: error handling, ``--format``, ``--workspace`` and option groups.

``@command()`` turns a function into what Typer registers (cli/__init__.py registers it by name):

- every command takes ``--format``; a function that reads it has a parameter ``fmt: OutputFormat`` whose default
  is the option's (the flag and its help come from here);
- a command takes ``--workspace``/``-w`` after its name as well as before it, as it always has
  (``workspace_option=False`` for the few that open none, or only the global one); the function opens it with
  ``workspace_from(ctx)``;
- a parameter typed with an ``OptionGroup`` dataclass (``MonteCarloOptions``) becomes one option per field, and
  the function receives the dataclass;
- expected failures print their reason and exit 2 (``reports_errors``)."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any

import typer

from outturn.cli._common import reports_errors
from outturn.cli.options import FormatOption, OptionGroup, OutputFormat, WorkspaceOption

Command = Callable[..., None]
_KEYWORD = inspect.Parameter.KEYWORD_ONLY


def command(*, workspace_option: bool = True) -> Callable[[Command], Command]:
    def decorate(body: Command) -> Command:
        parameters = inspect.signature(body, eval_str=True).parameters
        takes_format = "fmt" in parameters
        given_default = parameters["fmt"].default if takes_format else inspect.Parameter.empty
        default_format = OutputFormat.TABLE if given_default is inspect.Parameter.empty else given_default
        groups: dict[str, type[Any]] = {
            name: parameter.annotation
            for name, parameter in parameters.items()
            if isinstance(parameter.annotation, type) and issubclass(parameter.annotation, OptionGroup)
        }
        shown = [
            parameter.replace(kind=_KEYWORD) for name, parameter in parameters.items() if name not in {*groups, "fmt"}
        ]
        for group in groups.values():  # a group's options after the command's own, before --workspace and --format
            shown.extend(_group_parameters(group))
        takes_context = "ctx" in parameters
        if workspace_option:
            if not takes_context:
                shown.insert(0, inspect.Parameter("ctx", _KEYWORD, annotation=typer.Context))
            shown.append(inspect.Parameter("workspace", _KEYWORD, default=None, annotation=WorkspaceOption))
        shown.append(inspect.Parameter("fmt", _KEYWORD, default=default_format, annotation=FormatOption))

        def call(*, fmt: OutputFormat, **given: Any) -> None:
            if takes_format:
                given["fmt"] = fmt
            body(**given)

        guarded = reports_errors(call)

        @functools.wraps(body)
        def run(**given: Any) -> None:
            if workspace_option:
                ctx: typer.Context = given["ctx"] if takes_context else given.pop("ctx")
                explicit = given.pop("workspace")
                if explicit is not None:  # after the command's name it beats the one before it, as it always has
                    ctx.ensure_object(dict)["workspace"] = explicit
            for name, group in groups.items():
                fields = {field.name: given.pop(field.name) for field in dataclasses.fields(group)}
                given[name] = group(**fields)
            guarded(**given)

        signature = inspect.Signature(shown)
        run.__signature__ = signature  # type: ignore[attr-defined]
        run.__annotations__ = {parameter.name: parameter.annotation for parameter in shown}
        return run

    return decorate


def _group_parameters(group: type[Any]) -> list[inspect.Parameter]:
    hints = typing.get_type_hints(group, include_extras=True)
    return [
        inspect.Parameter(field.name, _KEYWORD, default=field.default, annotation=hints[field.name])
        for field in dataclasses.fields(group)
    ]
