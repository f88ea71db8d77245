"""GraphQL enums that mirror the domain's string enums (same values, with descriptions).

Build one from a domain value with ``ContributionKindType(kind.value)``.
"""

from __future__ import annotations

from enum import Enum

import strawberry

V = strawberry.enum_value


@strawberry.enum(name="LanguageCode", description="A language the app is read in.")
class LanguageCode(Enum):
    KK = V("kk", description="Kazakh (қазақ тілі).")
    RU = V("ru", description="Russian (русский язык).")
    EN = V("en", description="English.")


@strawberry.enum(name="ContributionKind", description="What a contribution is and who pays it.")
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
class PayerKindType(Enum):
    EMPLOYER = V("employer", description="An employer (by BIN).")
    STATE = V("state", description="The republican budget.")
    LOCAL_BUDGET = V("local_budget", description="A region's local budget.")
    SELF = V("self", description="The person themself.")


@strawberry.enum(name="Package", description="Benefit package that paid for a service.")
class PackageType(Enum):
    GOBMP = V("gobmp", description="Guaranteed volume of free care (ГОБМП), for everyone.")
    OSMS = V("osms", description="Insurance package (ОСМС), for the insured only.")


@strawberry.enum(name="QualityZone", description="The Fund's rating of a provider.")
class QualityZoneType(Enum):
    GREEN = V("green", description="Results as expected.")
    YELLOW = V("yellow", description="Results below expectations.")
    RED = V("red", description="Poor results; the Fund watches closely.")


@strawberry.enum(name="ServiceCategory", description="Group of services in the catalogue.")
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
