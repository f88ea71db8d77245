"""Words for refusals of the notification API, in the three languages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

Texts = Mapping[str, str]

REFUSALS: Final[Mapping[str, Texts]] = {
    "TOKEN_INVALID": {
        "kk": "Хабарландыру токені жарамсыз. Қолданбаны қайта ашып көріңіз.",
        "ru": "Токен уведомлений недействителен. Откройте приложение заново.",
        "en": "The push token is not valid. Reopen the app and try again."},
    "PLATFORM_UNKNOWN": {
        "kk": "Платформа android, ios немесе web болуы керек.",
        "ru": "Платформа должна быть android, ios или web.",
        "en": "The platform must be android, ios or web."},
    "APP_VERSION_INVALID": {
        "kk": "Қолданба нұсқасы жарамсыз (мысалы 1.4.2).",
        "ru": "Неверная версия приложения (например, 1.4.2).",
        "en": "The app version is not valid (for example 1.4.2)."},
    "LANGUAGE_UNKNOWN": {
        "kk": "Тіл kk, ru немесе en болуы керек.",
        "ru": "Язык должен быть kk, ru или en.",
        "en": "The language must be kk, ru or en."},
    "TIME_ZONE_UNKNOWN": {
        "kk": "Уақыт белдеуі танылмады (мысалы Asia/Almaty).",
        "ru": "Часовой пояс не распознан (например, Asia/Almaty).",
        "en": "The time zone is not known (for example Asia/Almaty)."},
    "CATEGORY_UNKNOWN": {
        "kk": "Хабарландыру санаты белгісіз.",
        "ru": "Неизвестная категория уведомлений.",
        "en": "Unknown notification category."},
    "CATEGORY_NOT_MUTABLE": {
        "kk": "Сақтандыруды жоғалту туралы ескертулерді өшіруге болмайды: олар мәртебені "
              "уақытында сақтап қалуға көмектеседі.",
        "ru": "Предупреждения о потере страховки отключить нельзя: они помогают вовремя "
              "сохранить статус.",
        "en": "Warnings that you are losing insurance cannot be switched off: they help you "
              "keep your status in time."},
    "QUIET_HOURS_EMPTY": {
        "kk": "Тыныш уақыттың басы мен соңы әртүрлі болуы керек.",
        "ru": "Начало и конец тихих часов должны различаться.",
        "en": "Quiet hours must start and end at different times."},
    "DEVICE_NOT_FOUND": {
        "kk": "Мұндай құрылғы табылмады.",
        "ru": "Такое устройство не найдено.",
        "en": "No such device."},
    "ANNOUNCEMENT_INCOMPLETE": {
        "kk": "Хабарландырудың тақырыбы мен мәтіні үш тілде де (kk, ru, en) болуы керек.",
        "ru": "Заголовок и текст объявления нужны на всех трёх языках (kk, ru, en).",
        "en": "An announcement needs its title and body in all three languages (kk, ru, en)."},
    "REGION_UNKNOWN": {
        "kk": "Мұндай өңір жоқ.",
        "ru": "Такого региона нет.",
        "en": "No such region."},
}
