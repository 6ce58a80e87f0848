"""The one family of errors the services raise: not found, conflict, bad input, unavailable.

Their messages say what is wrong in the user's terms and name no interface (no option, page or status code):
the CLI turns them into exit codes and the web into HTTP statuses, each in one place. They live in the domain so
that every layer (store, warehouse, ingest, services) can raise them. The older, more specific errors subclass
them, so code that catches those keeps working: ``PositionError`` is bad input, ``VersionConflict`` a conflict,
``WarehouseBusy`` unavailable. Plain ``ValueError`` and ``KeyError`` are still read as bad input and not found.
"""

from __future__ import annotations


class OutturnError(Exception):
    """An expected failure of a use-case, with a message for the user."""


class BadInput(OutturnError):
    """What was asked cannot be done with the input given."""


class NotFound(OutturnError):
    """Something named does not exist."""


class Conflict(OutturnError):
    """The change clashes with the stored state (someone else changed it first, or it is closed)."""


class Unavailable(OutturnError):
    """A resource the work needs is busy or cannot be written just now: trying again later may succeed."""

    retry_after_seconds = 5
