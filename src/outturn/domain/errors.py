"""The one family of errors the services raise: not found, conflict, bad input, unavailable.

Their messages say what is wrong in the user's terms and name no interface (no option, page or status code):
the CLI turns them into an exit code, a message and a hint (``cli/_common.py``, ``failure_message``) and the web
into an HTTP status and a page or JSON (``web/app.py``, ``web_failure``), each in one place. They live in the
domain so that every layer (store, warehouse, ingest, services) can raise them. The more specific errors subclass
them: ``PositionError`` and ``ContractError`` are bad input, ``VersionConflict`` a conflict, ``WarehouseBusy``
unavailable, ``SchemeNotFound`` not found.

``BadInput`` is also a ``ValueError`` and ``NotFound`` a ``LookupError``, so that code which validates a value
with ``except ValueError`` (a cell reader turning a bad cell into a problem) keeps working; the reverse does not
hold: the CLI and the web map only this family, so a plain ``ValueError`` or ``KeyError`` is a bug (a traceback,
a 500), never bad input or a 404.
"""

from __future__ import annotations

from typing import Generic, Literal, Protocol, TypeVar


class OutturnError(Exception):
    """An expected failure of a use-case, with a message for the user.

    ``needs`` names, in no interface's terms, what the user can give or load to put it right (``"organisation"``,
    ``"prescribing"``, ``"contracts"``...): each interface that knows how says so in its own words (the CLI its
    option or command), and one that does not shows the message alone."""

    def __init__(self, *args: object, needs: str | None = None) -> None:
        super().__init__(*args)
        self.needs = needs


class BadInput(OutturnError, ValueError):
    """What was asked cannot be done with the input given."""


class NotFound(OutturnError, LookupError):
    """Something named does not exist."""


class Conflict(OutturnError):
    """The change clashes with the stored state (someone else changed it first, or it is closed)."""


class Unavailable(OutturnError):
    """A resource the work needs is busy or cannot be written just now: trying again later may succeed."""

    retry_after_seconds = 5


ScopePart = Literal["organisation", "month", "year"]


class MissingScope(BadInput):
    """No organisation (or month, or year) was given and the workspace has no default one. ``part`` says which, so that
    each interface can say how to give it."""

    def __init__(self, part: ScopePart) -> None:
        self.part: ScopePart = part
        super().__init__(f"no {part} given", needs=part)


class _Versioned(Protocol):
    @property
    def version(self) -> int: ...


VersionedT = TypeVar("VersionedT", bound=_Versioned)


class StaleVersion(Conflict, Generic[VersionedT]):
    """Someone else saved the thing first: the stored version is not the one the change started from. Carries
    ``reference``, the ``expected`` version and the ``current`` record, so that a caller can show both."""

    def __init__(self, thing: str, verb: str, reference: str, expected: int, current: VersionedT) -> None:
        self.reference, self.expected, self.current = reference, expected, current
        super().__init__(
            f"{thing} {reference} was changed by someone else (you {verb} version {expected}; "
            f"it is now version {current.version}): nothing was saved"
        )
