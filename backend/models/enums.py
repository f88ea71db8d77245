"""String enums stored in ``core`` tables (VARCHAR + CHECK, see ``str_enum``)."""

from __future__ import annotations

from enum import StrEnum

from backend.rates.kinds import ContributionKind

__all__ = [
    "ContributionKind",
    "Language",
    "OrgOwnership",
    "Package",
    "PayerKind",
    "ProviderKind",
    "QualityZone",
    "RegionKind",
    "ServiceCategory",
    "Sex",
]


class Sex(StrEnum):
    """Sex as encoded in the IIN's seventh digit."""

    MALE = "M"
    FEMALE = "F"


class Language(StrEnum):
    """Languages a person reads the app in."""

    KK = "kk"
    RU = "ru"
    EN = "en"


class RegionKind(StrEnum):
    """Oblast or city of republican significance."""

    OBLAST = "oblast"
    CITY = "city"


class PayerKind(StrEnum):
    """Who sends money for a person; the person themself is a contribution without a payer."""

    EMPLOYER = "employer"
    STATE = "state"
    LOCAL_BUDGET = "local_budget"


class ProviderKind(StrEnum):
    """Kinds of medical organisation under contract with the Fund."""

    POLYCLINIC = "polyclinic"
    HOSPITAL = "hospital"
    DIAGNOSTIC_CENTER = "diagnostic_center"
    DENTAL_CLINIC = "dental_clinic"
    REHABILITATION_CENTER = "rehabilitation_center"
    MEDICAL_CENTER = "medical_center"
    AMBULANCE_STATION = "ambulance_station"


class OrgOwnership(StrEnum):
    """Public or private ownership of a provider."""

    PUBLIC = "public"
    PRIVATE = "private"


class QualityZone(StrEnum):
    """The Fund's rating of a provider by its result coefficient."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class Package(StrEnum):
    """Benefit package: guaranteed volume (ГОБМП, everyone) or insurance (ОСМС, insured only)."""

    GOBMP = "gobmp"
    OSMS = "osms"


class ServiceCategory(StrEnum):
    """Groups of services in the catalogue."""

    PRIMARY_CARE = "primary_care"
    SPECIALIST = "specialist"
    SCREENING = "screening"
    DIAGNOSTICS = "diagnostics"
    LABORATORY = "laboratory"
    REHABILITATION = "rehabilitation"
    DAY_HOSPITAL = "day_hospital"
    INPATIENT = "inpatient"
    DENTAL = "dental"
    EMERGENCY = "emergency"
