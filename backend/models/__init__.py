"""All ORM models of the ``core`` schema, of the public rollups (``stats``) and of the verifiable
log (``tlog``), in one package so that none imports another's module in a cycle.  Alembic reads
``Base.metadata`` from here."""

from backend.models.audit import AccessLogEntry, ActorKind
from backend.models.base import Base
from backend.models.care import MedicalService, Provider, ServicePayment
from backend.models.disputes import Dispute, DisputeEvent
from backend.models.family import Guardianship, GuardianshipKind
from backend.models.money import Contribution, Payer
from backend.models.payee import PayeeAccount
from backend.models.people import CategoryMembership, Person, PersonIin
from backend.models.reference import ContributionRate, MinimumWage, PreferentialCategory, Region
from backend.models.retention import RetentionHorizon
from backend.models.stats import (
    CashDay,
    CashMonth,
    Disputes,
    Insured,
    InsuredNow,
    MoneyIn,
    MoneyOut,
    ProviderFlags,
)
from backend.models.status import IngestionBatch, PersonStatus, StatusHistory
from backend.models.tlog import Checkpoint, Leaf, Pending, Tile, Witness

__all__ = [
    "AccessLogEntry",
    "ActorKind",
    "Base",
    "CashDay",
    "CashMonth",
    "CategoryMembership",
    "Checkpoint",
    "Contribution",
    "ContributionRate",
    "Dispute",
    "DisputeEvent",
    "Disputes",
    "Guardianship",
    "GuardianshipKind",
    "IngestionBatch",
    "Insured",
    "InsuredNow",
    "Leaf",
    "MedicalService",
    "MinimumWage",
    "MoneyIn",
    "MoneyOut",
    "PayeeAccount",
    "Payer",
    "Pending",
    "Person",
    "PersonIin",
    "PersonStatus",
    "PreferentialCategory",
    "Provider",
    "ProviderFlags",
    "Region",
    "RetentionHorizon",
    "ServicePayment",
    "StatusHistory",
    "Tile",
    "Witness",
]
