"""Organisations and the commissioning hierarchy.

region -> ICB (or cluster) -> sub-ICB location (or CCG, PCT) -> PCN -> practice; providers (trusts) stand apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from outturn.domain.errors import NotFound
from outturn.domain.labels import look_up


class OrgKind(StrEnum):
    REGION = "region"
    ICB = "icb"
    SUB_ICB = "sub_icb"
    PCN = "pcn"
    PRACTICE = "practice"
    PROVIDER = "provider"

    @classmethod
    def parse(cls, text: str) -> OrgKind:
        return look_up(_KIND_ALIASES, text, "organisation kind", sorted(_KIND_ALIASES))


_KIND_ALIASES: Mapping[str, OrgKind] = MappingProxyType(
    {
        "region": OrgKind.REGION,
        "icb": OrgKind.ICB,
        "ics": OrgKind.ICB,
        "stp": OrgKind.ICB,
        "cluster": OrgKind.ICB,
        "sub_icb": OrgKind.SUB_ICB,
        "sub_icb_location": OrgKind.SUB_ICB,
        "loc": OrgKind.SUB_ICB,
        "ccg": OrgKind.SUB_ICB,
        "pct": OrgKind.SUB_ICB,
        "pcn": OrgKind.PCN,
        "practice": OrgKind.PRACTICE,
        "provider": OrgKind.PROVIDER,
        "trust": OrgKind.PROVIDER,
    }
)

# Which kind may sit directly above which (a practice may report straight to a sub-ICB where it has no PCN,
# or straight to its ICB where the source names no sub-ICB location: NHS England's 2024/25 and 2025/26
# practice allocation files leave the PCN and sub-ICB columns empty).
ALLOWED_PARENTS: Mapping[OrgKind, frozenset[OrgKind]] = MappingProxyType(
    {
        OrgKind.REGION: frozenset(),
        OrgKind.ICB: frozenset({OrgKind.REGION}),
        OrgKind.SUB_ICB: frozenset({OrgKind.ICB, OrgKind.REGION}),
        OrgKind.PCN: frozenset({OrgKind.SUB_ICB, OrgKind.ICB}),
        OrgKind.PRACTICE: frozenset({OrgKind.PCN, OrgKind.SUB_ICB, OrgKind.ICB}),
        OrgKind.PROVIDER: frozenset({OrgKind.REGION}),
    }
)

# Who may hold a contract as commissioner: NHS England (its regions, for specialised services), an ICB (cluster)
# or a sub-ICB location (CCG, PCT). Practices and PCNs do not hold provider contracts; providers are paid by them.
COMMISSIONER_KINDS = frozenset({OrgKind.REGION, OrgKind.ICB, OrgKind.SUB_ICB})


# look-alike of domain/forecast.py:LineForecast (shape only): declarative, a record's fields.
@dataclass(frozen=True)
class Organisation:
    code: str
    name: str
    kind: OrgKind
    parent_code: str | None = None


@dataclass(frozen=True)
class OrgTree:
    """An immutable index of organisations by code, with their children."""

    by_code: Mapping[str, Organisation]
    children: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def build(cls, organisations: Iterable[Organisation]) -> OrgTree:
        by_code = {org.code: org for org in organisations}
        children: dict[str, list[str]] = {}
        for org in by_code.values():
            if org.parent_code is not None:
                children.setdefault(org.parent_code, []).append(org.code)
        return cls(
            MappingProxyType(by_code),
            MappingProxyType({code: tuple(sorted(kids)) for code, kids in children.items()}),
        )

    def __contains__(self, code: object) -> bool:
        return code in self.by_code

    def get(self, code: str) -> Organisation:
        try:
            return self.by_code[code]
        except KeyError:
            raise NotFound(f"unknown organisation {code!r}") from None

    def ancestors(self, code: str) -> tuple[Organisation, ...]:
        found: list[Organisation] = []
        seen = {code}
        parent = self.get(code).parent_code
        while parent is not None and parent in self.by_code and parent not in seen:
            seen.add(parent)
            found.append(self.by_code[parent])
            parent = self.by_code[parent].parent_code
        return tuple(found)

    def descendants(self, code: str) -> tuple[Organisation, ...]:
        """Every organisation below ``code``, breadth first."""
        found: list[Organisation] = []
        queue = list(self.children.get(code, ()))
        seen = set(queue)
        while queue:
            current = queue.pop(0)
            found.append(self.by_code[current])
            for child in self.children.get(current, ()):
                if child not in seen:
                    seen.add(child)
                    queue.append(child)
        return tuple(found)

    def subtree_codes(self, code: str) -> frozenset[str]:
        return frozenset({code, *(org.code for org in self.descendants(code))})
