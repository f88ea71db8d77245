"""Error messages a person reads, in Kazakh, Russian and English.

``AppError`` takes one of these (with ``str.format`` values filled in by ``message``); the
GraphQL error extension shows it in the reader's language.
"""

from __future__ import annotations

from collections.abc import Mapping

from backend.i18n import Texts

MESSAGES: Mapping[str, Texts] = {
    "sign_in": {"kk": "Бұл деректерді көру үшін жүйеге кіріңіз.",
                "ru": "Войдите, чтобы увидеть эти данные.",
                "en": "Sign in to see this."},
    "profile_not_found": {"kk": "Профиліңіз табылмады.", "ru": "Ваш профиль не найден.",
                          "en": "Your profile was not found."},
    "not_found": {"kk": "Бұл идентификатор бойынша ештеңе табылмады.",
                  "ru": "По этому идентификатору ничего не найдено.",
                  "en": "Nothing was found with this id."},
    "invalid_id": {"kk": "Идентификатор дұрыс емес.", "ru": "Неверный идентификатор.",
                   "en": "This is not a valid id."},
    "article_not_found": {"kk": "Мұндай анықтамалық мақала жоқ.",
                          "ru": "Такой справочной статьи нет.",
                          "en": "There is no help article with this name."},
    "page_size": {"kk": "`first` мәні 1 мен {max} аралығында болуы керек.",
                  "ru": "Значение `first` должно быть от 1 до {max}.",
                  "en": "`first` must be between 1 and {max}."},
    "bad_cursor": {"kk": "Курсор бұл тізімге жарамайды.",
                   "ru": "Курсор не подходит для этого списка.",
                   "en": "The cursor is not valid for this list."},
    "range": {"kk": "`{name}` мәні {low} мен {high} аралығында болуы керек.",
              "ru": "Значение `{name}` должно быть от {low} до {high}.",
              "en": "`{name}` must be between {low} and {high}."},
    "bad_month": {"kk": "Ай ЖЖЖЖ-АА түрінде жазылады, мысалы 2025-10.",
                  "ru": "Месяц записывается как ГГГГ-ММ, например 2025-10.",
                  "en": "A month is written YYYY-MM, for example 2025-10."},
    "missing_reference": {"kk": "Байланысты жазба табылмады.",
                          "ru": "Связанная запись не найдена.",
                          "en": "A related record was not found."},
    "body_too_large": {"kk": "Сұраныс тым үлкен ({max} байттан асады).",
                       "ru": "Запрос слишком большой (больше {max} байт).",
                       "en": "The request body is larger than {max} bytes."},
}


def message(key: str, **values: object) -> Texts:
    """The message ``key`` in every language, with ``values`` filled in."""
    return {language: text.format(**values) for language, text in MESSAGES[key].items()}
