"""Why a guardianship record is refused, in words for the sender (kk, ru, en).

The codes are stable API, like those of contribution and service-payment records.
"""

from __future__ import annotations

from collections.abc import Mapping

from backend.i18n import Texts
from backend.ingest.codes import REJECTIONS

REFUSALS: Mapping[str, Texts] = {
    "RECORD_ID_MISSING": REJECTIONS["RECORD_ID_MISSING"],
    "RECORD_ID_CONFLICT": {
        "kk": "Бұл recordId бұрын басқа ата-ана мен балаға қатысты келген.",
        "ru": "Этот recordId уже приходил для других родителя и ребёнка.",
        "en": "This recordId was received before for another parent and child."},
    "IIN_INVALID": REJECTIONS["IIN_INVALID"],
    "PERSON_UNKNOWN": REJECTIONS["PERSON_UNKNOWN"],
    "SELF_LINK": {"kk": "Адам өзінің ата-анасы бола алмайды: екі ЖСН бірдей.",
                  "ru": "Человек не может быть родителем самому себе: оба ИИН совпадают.",
                  "en": "A person cannot be their own parent: both IINs are the same."},
    "CHILD_NOT_MINOR": {
        "kk": "Бала кәмелетке толған (18 жас) немесе байланыс 18 жасқа толғаннан кейін басталады.",
        "ru": "Ребёнку уже 18 лет, или связь начинается после его 18-летия.",
        "en": "The child is 18 or older, or the link starts after their 18th birthday."},
    "VALIDITY_INVALID": {"kk": "validUntil күні validFrom күнінен бұрын.",
                         "ru": "Дата validUntil раньше даты validFrom.",
                         "en": "validUntil is before validFrom."},
}
