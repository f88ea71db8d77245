"""The demo cast: a few fixed people whose stories show every status the app explains.

They are the first people the generator writes, so ``mhi token --demo N`` and the README can
name them.  Their ids are fixed; their IINs follow from their birth dates.
"""

from __future__ import annotations

import uuid
from datetime import date

from backend.demo.population import Profile

CAST: tuple[Profile, ...] = (
    Profile(
        uuid.UUID("00000000-0000-4000-8000-000000000001"),
        "Ахметова",
        "Айгерім",
        "Серікқызы",
        date(1990, 3, 3),
        "F",
        "KZ-75",
        "kk",
        "employee",
    ),
    Profile(
        uuid.UUID("00000000-0000-4000-8000-000000000002"),
        "Ковалёв",
        "Сергей",
        "Николаевич",
        date(1979, 3, 3),
        "M",
        "KZ-35",
        "ru",
        "self_payer_cast_grace",
    ),
    Profile(
        uuid.UUID("00000000-0000-4000-8000-000000000003"),
        "Жұмабаев",
        "Нұрлан",
        "Асқарұлы",
        date(1995, 7, 14),
        "M",
        "KZ-61",
        "kk",
        "employee_stopped_cast",
    ),
    Profile(
        uuid.UUID("00000000-0000-4000-8000-000000000004"),
        "Омарова",
        "Дана",
        "Ерлановна",
        date(2015, 9, 1),
        "F",
        "KZ-71",
        "en",
        "child",
    ),
    Profile(
        uuid.UUID("00000000-0000-4000-8000-000000000005"),
        "Серікбаев",
        "Болат",
        "Қайратұлы",
        date(1958, 11, 20),
        "M",
        "KZ-79",
        "kk",
        "pensioner",
    ),
    Profile(
        uuid.UUID("00000000-0000-4000-8000-000000000006"),
        "Ким",
        "Алина",
        "Викторовна",
        date(1988, 5, 30),
        "F",
        "KZ-71",
        "en",
        "entrepreneur",
    ),
)

CAST_GUARDIANSHIPS: tuple[tuple[uuid.UUID, uuid.UUID, str], ...] = (
    # Алина Ким is Дана Омарова's mother: the demo's parent with a child.
    (CAST[5].id, CAST[3].id, "parent"),
)
"""(parent, child, kind) links the demo feeds as ``source='demo'``, from the child's birth."""
