"""Care the Fund paid for in the demo country, consistent with each person's age and sex."""

from __future__ import annotations

import bisect
import itertools
import math
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from backend.demo.catalogue import SERVICES, ServiceDef
from backend.demo.money_flows import Row
from backend.demo.world import DemoProvider, World
from backend.months import age_on

SERVICE_PAYMENT_COLUMNS = (
    "person_id",
    "provider_id",
    "service_code",
    "care_date",
    "amount_tiyn",
    "package",
    "paid_on",
    "practitioner_ref",
    "source",
    "source_record_id",
)
PROVIDER_KINDS_FOR = {
    "primary_care": ("polyclinic",),
    "specialist": ("polyclinic", "medical_center", "hospital"),
    "screening": ("polyclinic", "medical_center"),
    "diagnostics": ("diagnostic_center", "hospital", "medical_center"),
    "laboratory": ("diagnostic_center", "polyclinic"),
    "rehabilitation": ("rehabilitation_center", "hospital"),
    "day_hospital": ("hospital", "polyclinic"),
    "inpatient": ("hospital",),
    "dental": ("dental_clinic",),
    "emergency": ("ambulance_station",),
}
HISTORY_DAYS = 730


@dataclass
class CareBook:
    """Draws care episodes and keeps the rows; eligible services are cached per age and sex."""

    world: World
    as_of: date
    source: str = "demo-fund"
    rows: list[Row] = field(default_factory=list)
    counter: int = 0
    _eligible: dict[tuple[int, str, bool], tuple[list[ServiceDef], list[float], float]] = field(
        default_factory=dict
    )

    def eligible(
        self, age: int, sex: str, insured: bool
    ) -> tuple[list[ServiceDef], list[float], float]:
        """Services for this age and sex (ОСМС only when insured), cumulative weights, total."""
        key = (min(age, 100), sex, insured)
        if key not in self._eligible:
            chosen = [
                s
                for s in SERVICES
                if s.min_age <= age <= s.max_age
                and (s.sex is None or s.sex == sex)
                and (insured or s.package == "gobmp")
            ]
            cumulative = list(itertools.accumulate(s.yearly_rate for s in chosen))
            self._eligible[key] = (chosen, cumulative, cumulative[-1] if cumulative else 0.0)
        return self._eligible[key]

    def add_history(
        self,
        rng: random.Random,
        person: uuid.UUID,
        birth: date,
        sex: str,
        region: str,
        death: date | None,
        insured: bool,
    ) -> None:
        """Two years of care for one person, paid 10-40 days after each visit."""
        last_day = min(death, self.as_of) if death else self.as_of
        first_day = max(birth, self.as_of - timedelta(days=HISTORY_DAYS))
        span = (last_day - first_day).days
        if span <= 0:
            return
        age = age_on(birth, self.as_of)
        services, cumulative, yearly = self.eligible(age, sex, insured)
        if not services:
            return
        home = self._home_polyclinic(rng, region)
        for _ in range(_poisson(rng, yearly * span / 365)):
            pick = bisect.bisect(cumulative, rng.random() * yearly)
            service = services[min(pick, len(services) - 1)]
            care = first_day + timedelta(days=int(rng.random() * span))
            paid_on = care + timedelta(days=10 + int(rng.random() * 31))
            if paid_on > self.as_of:
                continue
            provider = (
                home
                if service.category == "primary_care"
                else rng.choice(
                    self.world.providers_for(region, PROVIDER_KINDS_FOR[service.category])
                )
            )
            tariff = rng.randint(service.tariff_kzt_min, service.tariff_kzt_max) // 10 * 10
            self.counter += 1
            self.rows.append(
                (
                    person,
                    provider.id,
                    service.code,
                    care,
                    tariff * 100,
                    service.package,
                    paid_on,
                    f"{provider.bin}-D{rng.randint(1, 60):02d}",
                    self.source,
                    f"S{self.counter:010d}",
                )
            )

    def _home_polyclinic(self, rng: random.Random, region: str) -> DemoProvider:
        polyclinics: Sequence[DemoProvider] = self.world.providers_for(region, ("polyclinic",))
        return rng.choice(polyclinics)


def _poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method (small λ); a normal approximation above 30."""
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    threshold, count, product = math.exp(-lam), 0, rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count
