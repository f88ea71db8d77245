"""The dated rate table of contributions (``RateBook``) and the kinds of contribution."""

from backend.rates.book import RateBase, RateBook, RateRule
from backend.rates.kinds import ContributionKind

__all__ = ["ContributionKind", "RateBase", "RateBook", "RateRule"]
