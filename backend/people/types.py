"""GraphQL types of people (the citizen's own profile)."""

from __future__ import annotations

from enum import Enum

import strawberry

from auth.identifiers import mask_iin
from backend.models import Person, Region


@strawberry.enum(description="A language the app is read in.")
class LanguageCode(Enum):
    KK = strawberry.enum_value("kk", description="Kazakh (қазақ тілі).")
    RU = strawberry.enum_value("ru", description="Russian (русский язык).")
    EN = strawberry.enum_value("en", description="English.")


@strawberry.type(name="Region", description="An oblast or a city of republican significance.")
class RegionType:
    code: str = strawberry.field(description="ISO 3166-2 code, for example KZ-75 (Almaty).")
    name: str = strawberry.field(description="Name in the reader's language.")


@strawberry.type(name="Profile", description="The signed-in person's own profile.")
class ProfileType:
    first_name: str = strawberry.field(description="Given name.")
    last_name: str = strawberry.field(description="Family name.")
    patronymic: str | None = strawberry.field(description="Patronymic, when the person has one.")
    masked_iin: str = strawberry.field(
        description="The IIN with all but its last 4 digits hidden, for example ••••••••2568."
    )
    language: LanguageCode = strawberry.field(description="The language the person reads in.")
    region: RegionType = strawberry.field(description="Region of residence.")

    @classmethod
    def build(cls, person: Person, region: Region) -> ProfileType:
        """Project a person row (and their region) in the person's own language."""
        language = person.language.value
        return cls(
            first_name=person.first_name,
            last_name=person.last_name,
            patronymic=person.patronymic,
            masked_iin=mask_iin(person.iin),
            language=LanguageCode(language),
            region=RegionType(code=region.code, name=region.name_in(language)),
        )
