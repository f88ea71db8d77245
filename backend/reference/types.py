"""GraphQL types of reference data: regions and preferential categories."""

from __future__ import annotations

import strawberry

from backend.reference.cache import CategoryRow, RegionRow


@strawberry.type(name="Region", description="An oblast or a city of republican significance.")
class RegionType:
    code: str = strawberry.field(description="ISO 3166-2 code, for example KZ-75 (Almaty).")
    name: str = strawberry.field(description="Name in the reader's language.")

    @classmethod
    def build(cls, region: RegionRow, language: str) -> RegionType:
        """The region in ``language``."""
        return cls(code=region.code, name=region.name_in(language))


@strawberry.type(name="PreferentialCategory",
                 description="A group of people for whom the state or a local budget pays.")
class CategoryType:
    code: str = strawberry.field(description="Stable code, for example pensioner.")
    name: str = strawberry.field(description="Name in the reader's language.")

    @classmethod
    def build(cls, category: CategoryRow, language: str) -> CategoryType:
        """The category in ``language``."""
        return cls(code=category.code, name=category.name_in(language))
