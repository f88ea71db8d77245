"""GraphQL enums that mirror the domain's string enums (same values, with descriptions).

The domain owns the values; the GraphQL enum adds only its public name and descriptions.
``mirrors(domain)`` on every such enum refuses, when the module is imported, a GraphQL enum
whose members differ from the domain's, so the two cannot drift apart unnoticed (a test checks
that every enum of the schema is a mirror or is listed as the API's own).  Because the values
are the same, ``ContributionKindType(kind.value)`` turns any domain member into its GraphQL
member and ``.value`` turns it back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import TypeVar

import strawberry

from backend.models.enums import (
    ContributionKind,
    Language,
    Package,
    PayerKind,
    QualityZone,
    ServiceCategory,
)

V = strawberry.enum_value
_E = TypeVar("_E", bound=type[Enum])


@dataclass(frozen=True)
class Mirror:
    """What a GraphQL enum mirrors: the domain's values, and the API's own additions."""

    source: str
    values: tuple[str, ...]
    extra: tuple[str, ...] = ()


MIRRORS: dict[type[Enum], Mirror] = {}
"""Every GraphQL enum declared with ``mirrors``, and what it mirrors."""


def _members(source: type[Enum] | Iterable[str]) -> dict[str, str]:
    """Name to value: an enum's own names, or a tuple's values in upper case."""
    if isinstance(source, type):
        return {member.name: str(member.value) for member in source}
    return {str(value).upper(): str(value) for value in source}


def graphql_value(member: Enum) -> str:
    """A GraphQL enum member's value (``strawberry.enum_value`` wraps it until decorated)."""
    value = member.value
    return str(getattr(value, "value", value))


def mirrors(source: type[Enum] | Iterable[str], *, extra: Iterable[str] = ()
            ) -> Callable[[_E], _E]:
    """Class decorator (under ``strawberry.enum``): the enum's members must be the domain's
    ``source`` (a string enum, or the domain's tuple of allowed values) with the same names,
    plus ``extra`` (values only the API has, such as a payer that is the person themself,
    named as the value in upper case).  A mismatch is a TypeError at import, naming what
    differs."""
    domain = _members(source)
    added = tuple(extra)
    expected = {**domain, **{value.upper(): value for value in added}}
    label = getattr(source, "__qualname__", None) or repr(tuple(domain.values()))

    def check(cls: _E) -> _E:
        found = {member.name: graphql_value(member) for member in cls}
        if found != expected:
            missing = sorted(set(expected.items()) - set(found.items()))
            unknown = sorted(set(found.items()) - set(expected.items()))
            raise TypeError(f"GraphQL enum {cls.__name__} does not mirror {label}: "
                            f"missing {missing}, not in the domain {unknown}")
        MIRRORS[cls] = Mirror(label, tuple(domain.values()), added)
        return cls

    return check


@strawberry.enum(name="LanguageCode", description="A language the app is read in.")
@mirrors(Language)
class LanguageCode(Enum):
    KK = V("kk", description="Kazakh (қазақ тілі).")
    RU = V("ru", description="Russian (русский язык).")
    EN = V("en", description="English.")


@strawberry.enum(name="ContributionKind", description="What a contribution is and who pays it.")
@mirrors(ContributionKind)
class ContributionKindType(Enum):
    EMPLOYER_DEDUCTION = V("employer_deduction",
                           description="Employer's deduction (отчисления), 3 % of wage; КНП 121.")
    EMPLOYEE_CONTRIBUTION = V("employee_contribution",
                              description="Employee's contribution withheld by the employer "
                                          "(взносы), 2 % of wage; КНП 122.")
    SELF_PAYMENT = V("self_payment", description="Paid by the person themself; КНП 122.")
    ENTREPRENEUR_CONTRIBUTION = V("entrepreneur_contribution",
                                  description="Individual entrepreneur's contribution; КНП 122.")
    STATE_CONTRIBUTION = V("state_contribution",
                           description="Paid by the republican or a local budget for a "
                                       "preferential category.")


@strawberry.enum(name="PayerKind", description="Who sent a contribution.")
@mirrors(PayerKind, extra=["self"])
class PayerKindType(Enum):
    EMPLOYER = V("employer", description="An employer (by BIN).")
    STATE = V("state", description="The republican budget.")
    LOCAL_BUDGET = V("local_budget", description="A region's local budget.")
    SELF = V("self", description="The person themself.")


@strawberry.enum(name="Package", description="Benefit package that paid for a service.")
@mirrors(Package)
class PackageType(Enum):
    GOBMP = V("gobmp", description="Guaranteed volume of free care (ГОБМП), for everyone.")
    OSMS = V("osms", description="Insurance package (ОСМС), for the insured only.")


@strawberry.enum(name="QualityZone", description="The Fund's rating of a provider.")
@mirrors(QualityZone)
class QualityZoneType(Enum):
    GREEN = V("green", description="Results as expected.")
    YELLOW = V("yellow", description="Results below expectations.")
    RED = V("red", description="Poor results; the Fund watches closely.")


@strawberry.enum(name="ServiceCategory", description="Group of services in the catalogue.")
@mirrors(ServiceCategory)
class ServiceCategoryType(Enum):
    PRIMARY_CARE = V("primary_care", description="Primary care (polyclinic, GP).")
    SPECIALIST = V("specialist", description="Specialist consultation on referral.")
    SCREENING = V("screening", description="Screening.")
    DIAGNOSTICS = V("diagnostics", description="Diagnostics (imaging, functional tests).")
    LABORATORY = V("laboratory", description="Laboratory tests.")
    REHABILITATION = V("rehabilitation", description="Rehabilitation.")
    DAY_HOSPITAL = V("day_hospital", description="Day hospital.")
    INPATIENT = V("inpatient", description="Inpatient (hospital) care.")
    DENTAL = V("dental", description="Dental care.")
    EMERGENCY = V("emergency", description="Emergency care.")
