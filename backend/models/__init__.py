"""All ORM models of the ``core`` schema, in one package so that none imports another's module
in a cycle.  Alembic reads ``Base.metadata`` from here."""

from backend.models.audit import AccessLogEntry, ActorKind
from backend.models.base import Base
from backend.models.care import MedicalService, Provider, ServicePayment
from backend.models.money import Contribution, Payer
from backend.models.people import CategoryMembership, Person
from backend.models.reference import ContributionRate, MinimumWage, PreferentialCategory, Region

__all__ = [
    "AccessLogEntry",
    "ActorKind",
    "Base",
    "CategoryMembership",
    "Contribution",
    "ContributionRate",
    "MedicalService",
    "MinimumWage",
    "Payer",
    "Person",
    "PreferentialCategory",
    "Provider",
    "Region",
    "ServicePayment",
]
