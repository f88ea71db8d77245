"""A person's year of money: sums in (by kind and payer) and out (by package and provider)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from backend.i18n import Texts, format_money, pick
from backend.models.enums import ContributionKind, Package, PayerKind

_SUMMARY: Texts = {
    "kk": "{year} жылы сіздің сақтандыруыңызға {contributed} түсті, ал Қор сіздің "
          "медициналық көмегіңізге {paid} төледі.",
    "ru": "В {year} году за вашу страховку поступило {contributed}, а Фонд оплатил вашу "
          "медицинскую помощь на {paid}.",
    "en": "In {year}, {contributed} was paid for your insurance and the Fund paid {paid} "
          "for your care.",
}
_ALL_STATE: Texts = {
    "kk": " Мұның барлығын мемлекет төледі.",
    "ru": " Всё это заплатило государство.",
    "en": " The state paid all of it.",
}
_STATE_PART: Texts = {
    "kk": " Оның {state} сомасын мемлекет төледі.",
    "ru": " Из них {state} заплатило государство.",
    "en": " The state paid {state} of it.",
}
_BUDGETS = (PayerKind.STATE, PayerKind.LOCAL_BUDGET)


@dataclass
class YearFlow:
    """Sums in tiyn; the ``by_`` maps are sorted largest first by ``largest_first``."""

    by_kind: dict[ContributionKind, int] = field(default_factory=lambda: defaultdict(int))
    by_payer: dict[uuid.UUID | None, int] = field(default_factory=lambda: defaultdict(int))
    state: int = 0
    by_package: dict[Package, list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0]))
    by_provider: dict[uuid.UUID, list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0]))

    @property
    def contributed(self) -> int:
        """Everything paid in."""
        return sum(self.by_kind.values())

    @property
    def fund_paid(self) -> int:
        """Everything the Fund paid out."""
        return sum(total for total, _ in self.by_package.values())

    def summary(self, year: int, language: str) -> str:
        """The year in one or two sentences, saying what the state paid."""
        text = pick(_SUMMARY, language).format(
            year=year, contributed=format_money(self.contributed, language),
            paid=format_money(self.fund_paid, language))
        if self.state and self.state == self.contributed:
            return text + pick(_ALL_STATE, language)
        if self.state:
            return text + pick(_STATE_PART, language).format(
                state=format_money(self.state, language))
        return text


def year_flow(
    paid_in: Iterable[tuple[ContributionKind, uuid.UUID | None, PayerKind | None, int]],
    paid_out: Iterable[tuple[Package, uuid.UUID, int, int]],
) -> YearFlow:
    """Fold the repositories' grouped sums into one year."""
    flow = YearFlow()
    for kind, payer_id, payer_kind, total in paid_in:
        flow.by_kind[kind] += total
        flow.by_payer[payer_id] += total
        if payer_kind in _BUDGETS:
            flow.state += total
    for package, provider_id, total, count in paid_out:
        for bucket in (flow.by_package[package], flow.by_provider[provider_id]):
            bucket[0] += total
            bucket[1] += count
    return flow
