"""Prescribing measures and price-per-unit savings as backend-neutral Ibis expressions (Table -> Table).

Inputs are the warehouse table ``prescribing`` (``outturn.domain.prescribing.PRESCRIBING_SCHEMA``; filter it to the
months wanted first) and a ``practice_populations`` table (``practice`` and the columns used: ``pcn``, ``sub_icb``,
``list_size``, ``astro_pu``). The rules are ``outturn.domain.prescribing``'s, written once more as column
expressions; ``presentation_attributes`` applies them to the distinct BNF codes only (a few tens of thousands
nationally), so the heavy work over every row is joins and sums.

Measures (``prescribing_measures``; or ``practice_totals`` once, then ``regroup`` and ``measures_from_totals`` to
derive several from one pass over the rows), per organisation x BNF group:

- items, quantity, net ingredient cost and actual cost (sums);
- the same per 1,000 registered patients or per 1,000 ASTRO-PU: the denominator is the sum over the
  organisation's practices that prescribed in the month (null when any of them has no figure);
- the generic prescribing rate: items written generically (product ``AA``) as a share of items of presentations
  that have a generic equivalent (``counts_for_generic_rate``), OpenPrescribing's definition of a generic.

Price-per-unit savings (``practice_price_per_unit``, ``organisation_savings``) follow OpenPrescribing (see
``outturn.domain.prescribing``): the target price per unit is the ``centile`` of the practices' price per unit in
each group of equivalent presentations, computed with SQL ``QUANTILE_CONT`` (linear interpolation, numpy's
``percentile`` default); each practice's saving is rounded to a millionth of a penny (so float noise cannot move a
saving that lies on a half penny) and then to the penny (half up; savings are positive) once it passes the
practice floor, and an organisation's saving on a group counts when the sum reaches its floor.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from outturn.domain.errors import BadInput
from outturn.domain.prescribing import (
    EXCLUSIONS_REGEX,
    GENERIC_CHEMICALS,
    GENERIC_PRODUCT,
    LAST_MEDICINES_CHAPTER,
    NO_GENERIC,
    PRESENTATION_LENGTH,
    RATE_BASE,
    BnfGrouping,
    Denominator,
    OrgLevel,
    SavingsRules,
    SubstitutionGroup,
)
from outturn.engine.backends import memtable

GROUP_MEMBERS_SCHEMA = {"member": "string", "group_code": "string", "formulation_swap": "string"}


def group_members(groups: Sequence[SubstitutionGroup]) -> ir.Table:
    """Formulation-swap groups as a table: each member generic code with the code naming its group."""
    rows = [
        {"member": member, "group_code": group.code, "formulation_swap": group.description}
        for group in groups
        for member in group.members
    ]
    return memtable(rows, GROUP_MEMBERS_SCHEMA)


def presentation_attributes(codes: ir.Table, members: ir.Table) -> ir.Table:
    """Per distinct ``bnf_code``: ``generic_code`` (OpenPrescribing's generic equivalent, null when none),
    ``set_code`` (the group of equivalent presentations after formulation swaps, null when none),
    ``formulation_swap``, ``is_generic`` and ``counts_for_generic_rate``."""
    codes = codes.select("bnf_code").distinct()
    code = codes.bnf_code
    chemical, equivalent = code.substr(0, 9), code.substr(13, 2)
    usable = (code.length() == PRESENTATION_LENGTH) & ~code.re_search(EXCLUSIONS_REGEX)
    has_generic = usable & ((equivalent != NO_GENERIC) | chemical.isin(list(GENERIC_CHEMICALS)))
    generic = ibis.ifelse(has_generic, chemical + GENERIC_PRODUCT + equivalent + equivalent, ibis.null("string"))
    attributes = codes.mutate(
        generic_code=generic,
        is_generic=(code.length() == PRESENTATION_LENGTH) & (code.substr(9, 2) == GENERIC_PRODUCT),
        counts_for_generic_rate=usable & (equivalent != NO_GENERIC) & (code.substr(0, 2) <= LAST_MEDICINES_CHAPTER),
    )
    joined = attributes.left_join(members, attributes.generic_code == members.member)
    joined = joined.mutate(set_code=ibis.coalesce(joined.group_code, joined.generic_code))
    return joined.select(
        "bnf_code",
        "generic_code",
        "set_code",
        # a whole number per group: grouping millions of rows by it is cheaper than by the 15-character code
        set_id=ibis.ifelse(
            joined.set_code.notnull(), ibis.dense_rank().over(order_by=joined.set_code), ibis.null("int64")
        ).cast("int64"),
        formulation_swap=joined.formulation_swap,
        is_generic=joined.is_generic,
        counts_for_generic_rate=joined.counts_for_generic_rate,
    )


def bnf_group(code: ir.StringValue, grouping: BnfGrouping) -> ir.StringValue:
    length = grouping.prefix_length
    return ibis.literal("all") if length is None else code.substr(0, length)


def practice_totals(rx: ir.Table, attributes: ir.Table, grouping: BnfGrouping) -> ir.Table:
    """Per month x practice x BNF group: items, quantity, costs, generic items and items with a generic. The one
    pass over every row; ``regroup`` makes coarser groups from finer ones without another."""
    flagged = rx.join(attributes.select("bnf_code", "is_generic", "counts_for_generic_rate"), "bnf_code")
    flagged = flagged.mutate(bnf_group=bnf_group(flagged.bnf_code, grouping))
    eligible = flagged.counts_for_generic_rate
    return flagged.group_by(["year_month", "practice", "bnf_group"]).aggregate(
        items=flagged["items"].sum().cast("int64"),
        quantity=flagged.quantity.sum().cast("float64"),
        nic_pence=flagged.nic_pence.sum().cast("int64"),
        actual_cost_pence=flagged.actual_cost_pence.sum().cast("int64"),
        generic_items=flagged["items"].sum(where=eligible & flagged.is_generic).coalesce(0).cast("int64"),
        generic_eligible_items=flagged["items"].sum(where=eligible).coalesce(0).cast("int64"),
    )


_SUMMED = ("items", "quantity", "nic_pence", "actual_cost_pence", "generic_items", "generic_eligible_items")


def _summed_by(table: ir.Table, keys: Sequence[str]) -> ir.Table:
    return table.group_by(list(keys)).aggregate(
        **{name: table[name].sum().cast(table[name].type()) for name in _SUMMED}
    )


def regroup(totals: ir.Table, grouping: BnfGrouping) -> ir.Table:
    """``practice_totals`` summed to a coarser ``grouping`` (chemical -> section or chapter, say)."""
    grouped = totals.mutate(bnf_group=bnf_group(totals.bnf_group, grouping))
    return _summed_by(grouped, ["year_month", "practice", "bnf_group"])


def practice_names(rx: ir.Table) -> ir.Table:
    """(year_month, practice, practice_name) for every practice prescribing in each month."""
    return rx.group_by(["year_month", "practice"]).aggregate(practice_name=rx.practice_name.max())


def _practice_orgs(practices: ir.Table, populations: ir.Table, level: OrgLevel, denominator: Denominator) -> ir.Table:
    """(year_month, practice, org, org_name, denominator) for every practice prescribing in each month; at PCN or
    sub-ICB level, practices the populations table does not place are left out (``unplaced_practices``)."""
    wanted = ["practice", denominator.value] + ([] if level is OrgLevel.PRACTICE else [level.value])
    placed = practices.left_join(populations.select(*dict.fromkeys(wanted)), "practice")
    if level is OrgLevel.PRACTICE:
        org, org_name = placed.practice, placed.practice_name
    else:
        org, org_name = placed[level.value], ibis.null("string")
    mapped = placed.select("year_month", "practice", org=org, org_name=org_name, denominator=placed[denominator.value])
    return mapped.filter(mapped.org.notnull())


def unplaced_practices(rx: ir.Table, populations: ir.Table, level: OrgLevel) -> ir.Table:
    """Practices prescribing with no row (or no organisation at ``level``) in the populations table."""
    practices = rx.select("practice").distinct()
    column = "practice" if level is OrgLevel.PRACTICE else level.value
    known = populations.filter(populations[column].notnull()).select("practice")
    return practices.anti_join(known, "practice").order_by("practice")


# look-alike of measures_from_totals' signature below: declarative, the same options over the rows.
def prescribing_measures(
    rx: ir.Table,
    attributes: ir.Table,
    populations: ir.Table,
    *,
    level: OrgLevel = OrgLevel.PRACTICE,
    grouping: BnfGrouping = BnfGrouping.CHAPTER,
    denominator: Denominator = Denominator.LIST,
) -> ir.Table:
    """One row per month x organisation x BNF group (see the module docstring for the columns' meaning)."""
    totals = practice_totals(rx, attributes, grouping)
    return measures_from_totals(totals, practice_names(rx), populations, level=level, denominator=denominator)


# look-alike of prescribing_measures' signature: declarative, the same options over totals already summed.
def measures_from_totals(
    totals: ir.Table,
    names: ir.Table,
    populations: ir.Table,
    *,
    level: OrgLevel = OrgLevel.PRACTICE,
    denominator: Denominator = Denominator.LIST,
) -> ir.Table:
    """``prescribing_measures`` from ``practice_totals`` (or ``regroup``) and ``practice_names``."""
    orgs = _practice_orgs(names, populations, level, denominator)
    sizes = orgs.group_by(["year_month", "org"]).aggregate(
        org_name=orgs.org_name.max(),
        practices=orgs.practice.count(),
        denominator=ibis.ifelse(
            orgs.denominator.count() == orgs.practice.count(), orgs.denominator.sum(), ibis.null("float64")
        ).cast("float64"),
    )
    placed = totals.join(orgs.select("year_month", "practice", "org"), ["year_month", "practice"])
    org_totals = placed if level is OrgLevel.PRACTICE else _summed_by(placed, ["year_month", "org", "bnf_group"])
    joined = org_totals.join(sizes, ["year_month", "org"])
    size = joined.denominator

    def rate(value: ir.NumericValue) -> ir.FloatingValue:
        return ibis.ifelse(size > 0, value.cast("float64") * RATE_BASE / size, ibis.null("float64"))

    return joined.select(
        "year_month",
        "org",
        "org_name",
        "bnf_group",
        "practices",
        "denominator",
        *_SUMMED[:4],
        items_per_1000=rate(joined["items"]),
        nic_pence_per_1000=rate(joined.nic_pence),
        actual_cost_pence_per_1000=rate(joined.actual_cost_pence),
        generic_items=joined.generic_items,
        generic_eligible_items=joined.generic_eligible_items,
        generic_rate=ibis.ifelse(
            joined.generic_eligible_items > 0,
            joined.generic_items.cast("float64") / joined.generic_eligible_items,
            ibis.null("float64"),
        ),
    )


def practice_price_per_unit(rx: ir.Table, attributes: ir.Table, rules: SavingsRules) -> ir.Table:
    """One row per month x practice x group of equivalent presentations the practice prescribed (quantity above
    ``rules.min_quantity``): quantity, net ingredient cost, price per unit, the group's target price per unit
    (its centile over practices), and the practice's saving in pence (0 below the practice floor)."""
    sets = attributes.filter(attributes.set_code.notnull())
    rows = rx.join(sets.select("bnf_code", "set_id"), "bnf_code")
    per = rows.group_by(["year_month", "practice", "set_id"]).aggregate(
        quantity=rows.quantity.sum(), nic_pence=rows.nic_pence.sum().cast("int64")
    )
    per = per.filter(per.quantity > rules.min_quantity)
    per = per.mutate(price_per_unit_pence=per.nic_pence.cast("float64") / per.quantity)
    targets = per.group_by(["year_month", "set_id"]).aggregate(
        target_price_per_unit_pence=per.price_per_unit_pence.quantile(rules.centile / 100),
        peer_practices=per.practice.count(),
    )
    targets = targets.join(sets.select("set_id", "set_code").distinct(), "set_id")
    joined = per.join(targets, ["year_month", "set_id"])
    # to a millionth of a penny first, so that float noise (sums in another order, another quantile routine)
    # cannot move a saving that lies on a half penny, as many do
    raw = (joined.nic_pence.cast("float64") - joined.quantity * joined.target_price_per_unit_pence).round(6)
    saving = ibis.ifelse(raw >= rules.practice_floor_pence, (raw + 0.5).floor(), 0).cast("int64")
    return joined.mutate(saving_pence=saving)


def organisation_savings(practice_ppu: ir.Table, populations: ir.Table | None, rules: SavingsRules) -> ir.Table:
    """One row per month x organisation (at ``rules.level``) x group whose summed saving reaches the floor;
    ``populations`` places practices in PCNs and sub-ICB locations (not needed at practice level). Quantity, cost
    and price per unit are the organisation's, over all its practices prescribing in the group."""
    if rules.level is OrgLevel.PRACTICE:
        kept = practice_ppu.filter(
            (practice_ppu.saving_pence >= rules.org_floor_pence) & (practice_ppu.saving_pence > 0)
        )
        return kept.select(
            "year_month",
            org=kept.practice,
            set_code=kept.set_code,
            practices=ibis.literal(1, "int64"),
            quantity=kept.quantity,
            nic_pence=kept.nic_pence,
            target_price_per_unit_pence=kept.target_price_per_unit_pence,
            savings_pence=kept.saving_pence,
            price_per_unit_pence=kept.price_per_unit_pence,
        )
    if populations is None:
        raise BadInput(f"savings by {rules.level.value} need the practice populations table")
    places = populations.select("practice", org=populations[rules.level.value])
    rows = practice_ppu.join(places.filter(places.org.notnull()), "practice")
    keys = ["year_month", "org", "set_id"]
    # only groups with a saving can pass the floor: find them from the (few) practices with one, then total them
    saving = rows.filter(rows.saving_pence > 0)
    passing = saving.group_by(keys).aggregate(savings_pence=saving.saving_pence.sum().cast("int64"))
    passing = passing.filter(passing.savings_pence >= rules.org_floor_pence)
    chosen = rows.join(passing, keys)
    totals = chosen.group_by(keys).aggregate(
        set_code=chosen.set_code.arbitrary(),
        practices=chosen.practice.count(),
        quantity=chosen.quantity.sum(),
        nic_pence=chosen.nic_pence.sum().cast("int64"),
        target_price_per_unit_pence=chosen.target_price_per_unit_pence.max(),
        savings_pence=chosen.savings_pence.max(),
    )
    return totals.mutate(price_per_unit_pence=totals.nic_pence.cast("float64") / totals.quantity).drop("set_id")


def set_names(rx: ir.Table, attributes: ir.Table) -> ir.Table:
    """(set_code, name, formulation_swap): a group is named after its own generic presentation where that was
    prescribed, else after the first of its members' names."""
    names = rx.group_by("bnf_code").aggregate(bnf_name=rx.bnf_name.max())
    rows = attributes.filter(attributes.set_code.notnull()).join(names, "bnf_code")
    return rows.group_by("set_code").aggregate(
        name=ibis.coalesce(rows.bnf_name.max(where=rows.bnf_code == rows.set_code), rows.bnf_name.min()),
        formulation_swap=rows.formulation_swap.max(),
    )
