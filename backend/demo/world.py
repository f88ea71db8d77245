"""The organisations of the demo country: payers (budgets, employers) and providers."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from auth.identifiers import make_bin
from backend.demo.orgs import PROVIDER_KINDS, SECTORS, employer_name, provider_name
from backend.reference.regions import REGIONS, Region

STATE_PAYER_NAMES = (
    "Республикалық бюджет",
    "Республиканский бюджет",
    "Republican budget",
)


def det_uuid(rng: random.Random) -> uuid.UUID:
    """A version-4 UUID drawn from ``rng`` (deterministic for a seed)."""
    return uuid.UUID(int=rng.getrandbits(128), version=4)


@dataclass(frozen=True)
class Employer:
    """An employer with the wage level of its sector."""

    id: uuid.UUID
    bin: str
    names: tuple[str, str, str]
    region_code: str
    median_wage_kzt: int


@dataclass(frozen=True)
class DemoProvider:
    """A provider row of the demo country."""

    id: uuid.UUID
    bin: str
    names: tuple[str, str, str]
    region_code: str
    kind: str
    ownership: str
    quality_zone: str


@dataclass
class World:
    """All organisations, with look-ups the person generator needs."""

    state_payer_id: uuid.UUID
    local_budget_ids: dict[str, uuid.UUID]
    employers_by_region: dict[str, list[Employer]]
    providers: list[DemoProvider]
    providers_by_region_kind: dict[tuple[str, str], list[DemoProvider]] = field(
        default_factory=dict
    )

    def providers_for(self, region_code: str, kinds: Sequence[str]) -> list[DemoProvider]:
        """Providers of the first of ``kinds`` that the region has (polyclinics as fallback)."""
        for kind in (*kinds, "polyclinic"):
            found = self.providers_by_region_kind.get((region_code, kind))
            if found:
                return found
        raise LookupError(f"no provider in {region_code}")


class BinFactory:
    """Unique valid BINs, registered between 1995 and 2020."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def new(self, kind_digit: int = 4) -> str:
        """A fresh valid BIN."""
        while True:
            registered = date(self.rng.randint(1995, 2020), self.rng.randint(1, 12), 1)
            value = make_bin(registered, self.rng.randint(0, 99_999), kind_digit, 0)
            if value is not None and value not in self.used:
                self.used.add(value)
                return value


def region_weights() -> list[float]:
    """Population of each region, as sampling weights (order of ``REGIONS``)."""
    return [float(region.population) for region in REGIONS]


def _providers_for_region(
    rng: random.Random, bins: BinFactory, region: Region, count: int
) -> list[DemoProvider]:
    kinds = list(PROVIDER_KINDS)
    plan = kinds + [
        rng.choice(
            (
                "polyclinic",
                "polyclinic",
                "medical_center",
                "hospital",
                "diagnostic_center",
                "dental_clinic",
            )
        )
        for _ in range(count)
    ]
    result: list[DemoProvider] = []
    numbers: dict[str, int] = {}
    for kind in plan:
        numbers[kind] = numbers.get(kind, 0) + 1
        private = kind in {"medical_center", "diagnostic_center", "dental_clinic"} and (
            rng.random() < 0.75
        )
        names = provider_name(
            kind, numbers[kind], region.center_kk, region.center_ru, region.center_en, private, rng
        )
        zone = rng.choices(("green", "yellow", "red"), weights=(80, 15, 5))[0]
        result.append(
            DemoProvider(
                id=det_uuid(rng),
                bin=bins.new(),
                names=names,
                region_code=region.code,
                kind=kind,
                ownership="private" if private else "public",
                quality_zone=zone,
            )
        )
    return result


def build_world(rng: random.Random, people: int) -> World:
    """Budgets, employers and providers sized to a country of ``people``."""
    bins = BinFactory(rng)
    total_population = sum(region.population for region in REGIONS)
    employers: dict[str, list[Employer]] = {region.code: [] for region in REGIONS}
    providers: list[DemoProvider] = []
    for region in REGIONS:
        share = people * region.population / total_population
        for _ in range(max(3, round(share / 40))):
            sector = rng.choice(list(SECTORS))
            employers[region.code].append(
                Employer(
                    id=det_uuid(rng),
                    bin=bins.new(),
                    names=employer_name(rng, sector),
                    region_code=region.code,
                    median_wage_kzt=SECTORS[sector],
                )
            )
        providers.extend(_providers_for_region(rng, bins, region, max(3, round(share / 8000))))
    world = World(
        state_payer_id=det_uuid(rng),
        local_budget_ids={region.code: det_uuid(rng) for region in REGIONS},
        employers_by_region=employers,
        providers=providers,
    )
    for provider in providers:
        world.providers_by_region_kind.setdefault((provider.region_code, provider.kind), []).append(
            provider
        )
    return world
