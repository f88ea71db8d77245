"""People of the demo country: who they are, why they are (or are not) insured, what care they had.

Every person follows one life scenario (employee, entrepreneur, self-payer, state-covered, …)
drawn with realistic weights for their age; the scenario writes their category memberships and
contributions through ``Ledger``.  Care is drawn from the catalogue for the person's age and sex.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

from auth.identifiers import make_iin
from backend.demo import names
from backend.demo.money_flows import Ledger, Row
from backend.demo.world import World, det_uuid
from backend.months import add_months, add_years, age_on, month_start, months_between
from backend.rates.kinds import ContributionKind as K
from backend.reference.regions import REGIONS
from backend.status.coverage import due_month
from backend.status.coverage import month_start as coverage_month_start

PERSON_COLUMNS = (
    "id",
    "iin",
    "last_name",
    "first_name",
    "patronymic",
    "birth_date",
    "sex",
    "region_code",
    "language",
    "phone",
    "death_date",
)
MEMBERSHIP_COLUMNS = ("person_id", "category_code", "valid_from", "valid_to")
WORKING_SCENARIOS = (
    ("employee", 50),
    ("employee_gap", 8),
    ("employee_stopped", 5),
    ("entrepreneur", 8),
    ("self_payer", 4),
    ("self_payer_arrears", 3),
    ("self_payer_prepaid", 1),
    ("state_category", 11),
    ("unemployed_registered", 2),
    ("uninsured", 8),
)
WORKING_CATEGORIES = (
    ("student", 30),
    ("parent_child_under_3", 25),
    ("pregnant_non_working", 10),
    ("disabled", 15),
    ("carer", 8),
    ("mother_many_children", 12),
)


@dataclass(frozen=True)
class Profile:
    """Who a person is; ``scenario`` forces a life scenario (the demo cast)."""

    id: uuid.UUID
    last_name: str
    first_name: str
    patronymic: str | None
    birth_date: date
    sex: str
    region_code: str
    language: str
    scenario: str | None = None


@dataclass
class Population:
    """Rows for COPY, and the IIN serials already used per (birth date, sex)."""

    world: World
    ledger: Ledger
    persons: list[Row] = field(default_factory=list)
    memberships: list[Row] = field(default_factory=list)
    serials: dict[tuple[date, str], int] = field(default_factory=dict)

    @property
    def as_of(self) -> date:
        """The day the demo country is seen on."""
        return self.ledger.as_of

    def window_start(self) -> date:
        """The first month of history: 24 months back."""
        return add_months(month_start(self.as_of), -24)

    def new_iin(self, birth: date, sex: str) -> str:
        """The next valid IIN for this birth date and sex."""
        key = (birth, sex)
        while True:
            serial = self.serials.get(key, 0) + 1
            self.serials[key] = serial
            iin = make_iin(birth, "M" if sex == "M" else "F", serial)
            if iin is not None:
                return iin


def random_profile(rng: random.Random, region_weights: list[float], as_of: date) -> Profile:
    """A person with a name, birth date, region and language drawn with realistic weights."""
    region = rng.choices(REGIONS, weights=region_weights)[0]
    age = min(int(rng.expovariate(1 / 30)), 95) if rng.random() < 0.7 else rng.randint(0, 90)
    birth = as_of - timedelta(days=age * 365 + rng.randint(0, 364))
    sex = rng.choice(("M", "F"))
    kazakh = rng.random() < 0.72
    first = rng.choice(_first_names(kazakh, sex))
    father = rng.choice(_first_names(kazakh, "M"))
    last = rng.choice(names.KAZAKH_SURNAMES if kazakh else names.RUSSIAN_SURNAMES)
    if sex == "F":
        last = names.feminine_surname(last)
    style = "kk" if kazakh and rng.random() < 0.4 else "ru"
    language = ("kk" if rng.random() < 0.7 else "ru") if kazakh else "ru"
    if rng.random() < 0.02:
        language = "en"
    return Profile(
        id=det_uuid(rng),
        last_name=last,
        first_name=first,
        patronymic=names.patronymic(father, "M" if sex == "M" else "F", style),
        birth_date=birth,
        sex=sex,
        region_code=region.code,
        language=language,
    )


def _first_names(kazakh: bool, sex: str) -> tuple[str, ...]:
    if kazakh:
        return names.KAZAKH_MALE_NAMES if sex == "M" else names.KAZAKH_FEMALE_NAMES
    return names.RUSSIAN_MALE_NAMES if sex == "M" else names.RUSSIAN_FEMALE_NAMES


def add_person(pop: Population, rng: random.Random, profile: Profile) -> str:
    """Write the person, their memberships and contributions; return the scenario used."""
    death = None
    age = age_on(profile.birth_date, pop.as_of)
    if age >= 70 and profile.scenario is None and rng.random() < 0.01:
        death = pop.as_of - timedelta(days=rng.randint(1, 500))
    phone = None if age < 14 else f"+77{rng.choice('0124578')}{rng.randint(0, 99_999_999):08d}"
    pop.persons.append(
        (
            profile.id,
            pop.new_iin(profile.birth_date, profile.sex),
            profile.last_name,
            profile.first_name,
            profile.patronymic,
            profile.birth_date,
            profile.sex,
            profile.region_code,
            profile.language,
            phone,
            death,
        )
    )
    scenario = profile.scenario or _scenario_for(rng, profile, age)
    _apply_scenario(pop, rng, profile, scenario, death)
    return scenario


def _scenario_for(rng: random.Random, profile: Profile, age: int) -> str:
    if age < 18:
        return "child"
    if age >= (63 if profile.sex == "M" else 61):
        return "pensioner"
    options, weights = zip(*WORKING_SCENARIOS, strict=True)
    return str(rng.choices(options, weights=weights)[0])


def _apply_scenario(
    pop: Population, rng: random.Random, p: Profile, scenario: str, death: date | None
) -> None:
    start = max(pop.window_start(), month_start(p.birth_date))
    end = month_start(min(death, pop.as_of) if death else pop.as_of)
    ledger, world = pop.ledger, pop.world
    if scenario == "child":
        until = add_years(p.birth_date, 18) - timedelta(days=1)
        _member(pop, p, "child", p.birth_date, until)
        ledger.state(rng, p.id, world.state_payer_id, "state", months_between(start, end))
    elif scenario == "pensioner":
        retired = add_years(p.birth_date, 63 if p.sex == "M" else 61)
        _member(pop, p, "pensioner", retired, death)
        ledger.state(
            rng,
            p.id,
            world.state_payer_id,
            "state",
            months_between(max(start, month_start(retired)), end),
        )
    elif scenario.startswith("employee"):
        _employee(pop, rng, p, scenario, start, end)
    elif scenario.startswith("self_payer") or scenario == "entrepreneur":
        _self_payer(pop, rng, p, scenario, start, end)
    elif scenario in ("state_category", "unemployed_registered"):
        _state_category(pop, rng, p, scenario, start, end)
    elif scenario == "uninsured" and rng.random() < 0.5:
        # Worked once, long ago: contributions stopped well before the window's end.
        stop = add_months(start, rng.randint(0, 10))
        _payroll(pop, rng, p, start, stop)


def _member(pop: Population, p: Profile, code: str, since: date, until: date | None) -> None:
    pop.memberships.append((p.id, code, since, until))


def _payroll(pop: Population, rng: random.Random, p: Profile, first: date, last: date) -> None:
    employers = pop.world.employers_by_region[p.region_code]
    employer = rng.choice(employers)
    wage_kzt = max(85_000, int(rng.lognormvariate(0, 0.45) * employer.median_wage_kzt))
    pop.ledger.payroll(rng, p.id, employer.id, wage_kzt * 100, months_between(first, last))


def _employee(
    pop: Population, rng: random.Random, p: Profile, scenario: str, start: date, end: date
) -> None:
    if scenario == "employee":
        _payroll(pop, rng, p, start, end)
    elif scenario == "employee_gap":
        gap_start = add_months(start, rng.randint(2, 16))
        gap = rng.randint(1, 5)
        _payroll(pop, rng, p, start, add_months(gap_start, -1))
        _payroll(pop, rng, p, add_months(gap_start, gap), end)
    elif scenario == "employee_stopped_cast":
        _payroll(pop, rng, p, start, add_months(end, -8))
    else:  # stopped working 2-9 months ago: conditionally insured or already not insured
        _payroll(pop, rng, p, start, add_months(end, -rng.randint(2, 9)))


def _self_payer(
    pop: Population, rng: random.Random, p: Profile, scenario: str, start: date, end: date
) -> None:
    ledger = pop.ledger
    kind = K.ENTREPRENEUR_CONTRIBUTION if scenario == "entrepreneur" else K.SELF_PAYMENT
    # They were employees for the year before: a self-payer's money pays uncovered months of
    # the last 12 first (status rule R5), so a history that began empty would be all arrears.
    _payroll(pop, rng, p, add_months(start, -12), add_months(start, -1))
    if scenario in ("entrepreneur", "self_payer"):
        ledger.own(rng, p.id, kind, months_between(start, end))
    elif scenario == "self_payer_cast_grace":
        # Paid up to the month before the one now due: in the grace period, with arrears.
        last_paid = coverage_month_start(due_month(pop.as_of) - 1)
        ledger.own(rng, p.id, kind, months_between(start, last_paid))
    elif scenario == "self_payer_prepaid":
        period = add_months(end, -rng.randint(0, 9))
        ledger.lump(p.id, kind, period, 12, period + timedelta(days=rng.randint(0, 9)))
    else:  # paid, then stopped; some came back and paid the arrears in one go
        stop = add_months(end, -rng.randint(3, 12))
        ledger.own(rng, p.id, kind, months_between(start, stop))
        if rng.random() < 0.5:
            resume = add_months(stop, rng.randint(4, 8))
            months = (resume.year - stop.year) * 12 + resume.month - stop.month
            if resume <= end:
                ledger.lump(p.id, kind, resume, months, resume + timedelta(days=rng.randint(1, 20)))


def _state_category(
    pop: Population, rng: random.Random, p: Profile, scenario: str, start: date, end: date
) -> None:
    world = pop.world
    if scenario == "unemployed_registered":
        since = add_months(end, -rng.randint(1, 10))
        _member(pop, p, "unemployed", since, None)
        pop.ledger.state(
            rng,
            p.id,
            world.local_budget_ids[p.region_code],
            "local_budget",
            months_between(since, end),
        )
        return
    codes, weights = zip(*WORKING_CATEGORIES, strict=True)
    code = rng.choices(codes, weights=weights)[0]
    if code in ("pregnant_non_working", "mother_many_children") and p.sex == "M":
        code = "disabled"
    since = add_months(start, rng.randint(0, 12))
    until = (
        None
        if code in ("disabled", "mother_many_children")
        else (add_months(since, rng.randint(9, 36)) - timedelta(days=1))
    )
    _member(pop, p, code, since, until)
    last = min(end, month_start(until)) if until else end
    pop.ledger.state(rng, p.id, world.state_payer_id, "state", months_between(since, last))
