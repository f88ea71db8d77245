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
    "body_too_slow": {"kk": "Сұраныс денесі тым баяу келді ({seconds} с, кемінде {rate} байт/с).",
                      "ru": "Тело запроса шло слишком медленно ({seconds} с, от {rate} байт/с).",
                      "en": "The request body arrived too slowly ({seconds} s, {rate} bytes/s)."},
    "request_not_utf8": {"kk": "Сұраныс UTF-8 кодтауында емес.",
                         "ru": "Запрос не в кодировке UTF-8.",
                         "en": "The request is not valid UTF-8."},
    "request_not_json": {"kk": "Сұраныс денесі JSON емес.",
                         "ru": "Тело запроса не является JSON.",
                         "en": "The request body is not valid JSON."},
    "request_not_object": {"kk": "Сұраныс JSON нысаны болуы керек: {{\"query\": ...}}.",
                           "ru": "Запрос должен быть JSON-объектом: {{\"query\": ...}}.",
                           "en": "The request must be a JSON object: {{\"query\": ...}}."},
    "request_too_deep": {"kk": "Сұраныстағы JSON тым терең ({max} деңгейден асады).",
                         "ru": "JSON в запросе вложен слишком глубоко (больше {max} уровней).",
                         "en": "The JSON in the request is nested deeper than {max} levels."},
    "request_unreadable": {"kk": "Сұранысты оқу мүмкін емес: {detail}",
                           "ru": "Запрос невозможно прочитать: {detail}",
                           "en": "The request cannot be read: {detail}"},
    "query_too_costly": {
        "kk": "Сұраныстың құны {cost}, ал шегі {limit}. Азырақ жазба (кішірек `first`) "
              "немесе азырақ өріс сұраңыз.",
        "ru": "Стоимость запроса {cost}, а предел {limit}. Запросите меньше записей "
              "(меньший `first`) или меньше полей.",
        "en": "This query would cost {cost}; the limit is {limit}. Ask for fewer items "
              "(a smaller `first`) or fewer fields."},
    "query_repeats": {
        "kk": "Жауаптың бір орнына {count} өріс сұралған (ең көбі {max}).",
        "ru": "В одно место ответа запрошено {count} полей (не больше {max}).",
        "en": "{count} fields answer at one place of the response (at most {max})."},
    "query_timeout": {
        "kk": "Сұраныс {seconds} секундта орындалмады және тоқтатылды. Азырақ сұраңыз "
              "немесе кейінірек қайталаңыз.",
        "ru": "Запрос не выполнился за {seconds} с и был остановлен. Запросите меньше "
              "или повторите позже.",
        "en": "The query did not finish within {seconds} s and was stopped. Ask for less "
              "or try again later."},
    "persisted_query_not_found": {
        "kk": "Бұл операция хэші бойынша белгісіз.",
        "ru": "Операция с таким хешем неизвестна.",
        "en": "No operation is known by this hash."},
    "persisted_query_required": {
        "kk": "Бұл сервер қосымшаның операцияларын тек хэші бойынша қабылдайды.",
        "ru": "Этот сервер принимает операции приложения только по хешу.",
        "en": "This server accepts the app's operations by their hash only."},
    "introspection_forbidden": {
        "kk": "Схеманы тек кірген интеграцияланған жүйелер сұрай алады.",
        "ru": "Схему могут запрашивать только вошедшие интегрированные системы.",
        "en": "Only signed-in integrated systems may introspect the schema."},
    "citizens_only": {"kk": "Бұл деректерді тек азаматтың өзі көре алады.",
                      "ru": "Эти данные может видеть только сам гражданин.",
                      "en": "Only the citizen themself can see this."},
    "staff_only": {"kk": "Бұл тек тіркеу орнының қызметкерлеріне арналған.",
                   "ru": "Это доступно только сотрудникам регистратуры.",
                   "en": "This is for registry-desk staff only."},
    "integrators_only": {"kk": "Бұл тек интеграцияланған жүйелерге арналған.",
                         "ru": "Это доступно только интегрированным системам.",
                         "en": "This is for integrated systems only."},
    "scope_missing": {"kk": "Клиенттің «{scope}» рұқсаты жоқ.",
                      "ru": "У клиента нет разрешения «{scope}».",
                      "en": "The client does not hold the scope '{scope}'."},
    "too_many_records": {"kk": "Бір топтамада ең көбі {max} жазба болады.",
                         "ru": "В одном пакете не больше {max} записей.",
                         "en": "At most {max} records in one batch."},
    "unknown_flag": {"kk": "Мұндай белгі жоқ; болатындары: {flags}.",
                     "ru": "Такой отметки нет; бывают: {flags}.",
                     "en": "No such flag; the flags are {flags}."},
    "too_many_iins": {"kk": "Бір сұраныста ең көбі {max} ЖСН болады.",
                      "ru": "В одном запросе не больше {max} ИИН.",
                      "en": "At most {max} IINs in one request."},
    "variable_missing": {"kk": "`{field}` мәні міндетті ({type} түрі).",
                         "ru": "Значение `{field}` обязательно (тип {type}).",
                         "en": "`{field}` is required (type {type})."},
    "variable_invalid": {"kk": "`{field}` мәні {type} түріне сәйкес емес.",
                         "ru": "Значение `{field}` не подходит под тип {type}.",
                         "en": "`{field}` is not a valid {type}."},
    "text_too_long": {"kk": "`{field}` мәні {max} таңбадан аспауы керек.",
                      "ru": "Значение `{field}` должно быть не длиннее {max} символов.",
                      "en": "`{field}` must be at most {max} characters long."},
    "text_forbidden": {"kk": "`{field}` мәнінде рұқсат етілмеген таңба бар.",
                       "ru": "Значение `{field}` содержит недопустимый символ.",
                       "en": "`{field}` contains a character that is not allowed."},
}

# What ``auth`` refuses, by its ``reason``, in the reader's language.
AUTH_MESSAGES: Mapping[str, Texts] = {
    "UNAUTHENTICATED": {"kk": "Кіру деректері жарамсыз. Қайта кіріңіз.",
                        "ru": "Данные входа недействительны. Войдите снова.",
                        "en": "The sign-in is not valid. Please sign in again."},
    "TOKEN_EXPIRED": {"kk": "Кіру мерзімі өтті. Сессияны жаңартыңыз немесе қайта кіріңіз.",
                      "ru": "Срок входа истёк. Обновите сессию или войдите снова.",
                      "en": "The sign-in has expired. Refresh the session or sign in again."},
    "SESSION_ENDED": {"kk": "Сессия аяқталды. Қайта кіріңіз.",
                      "ru": "Сессия завершена. Войдите снова.",
                      "en": "The session has ended. Please sign in again."},
    "RATE_LIMITED": {"kk": "Әрекет тым көп. {seconds} секундтан кейін қайталаңыз.",
                     "ru": "Слишком много попыток. Повторите через {seconds} с.",
                     "en": "Too many attempts. Try again in {seconds} seconds."},
    "IIN_INVALID": {"kk": "ЖСН дұрыс емес: 12 цифрды тексеріңіз.",
                    "ru": "ИИН указан неверно: проверьте 12 цифр.",
                    "en": "The IIN is not valid: check its 12 digits."},
    "PHONE_INVALID": {"kk": "Телефон нөмірі +7 және 10 цифр түрінде болуы керек.",
                      "ru": "Номер телефона должен быть в виде +7 и 10 цифр.",
                      "en": "The phone number must be +7 and 10 digits."},
    "WRONG_CODE": {"kk": "Код дұрыс емес.", "ru": "Неверный код.",
                   "en": "The code is not right."},
    "CODE_EXPIRED": {"kk": "Кодтың мерзімі өтті. Жаңа код сұраңыз.",
                     "ru": "Срок действия кода истёк. Запросите новый код.",
                     "en": "The code has expired. Ask for a new one."},
    "CODE_ATTEMPTS_EXHAUSTED": {"kk": "Қате код тым көп енгізілді. Жаңа код сұраңыз.",
                                "ru": "Слишком много неверных кодов. Запросите новый код.",
                                "en": "Too many wrong codes. Ask for a new one."},
    "WRONG_CREDENTIALS": {"kk": "Логин немесе құпиясөз дұрыс емес.",
                          "ru": "Неверный логин или пароль.",
                          "en": "The name or the password is not right."},
    "WINDOW_CLOSED": {"kk": "Пациенттің келісімі аяқталды. Жаңа келісім кодын сұраңыз.",
                      "ru": "Согласие пациента истекло. Попросите новый код согласия.",
                      "en": "The patient's consent has ended. Ask for a new consent code."},
    "NO_PHONE_ON_RECORD": {"kk": "Тіркелген телефон нөмірі жоқ: растау коды жіберілмейді.",
                           "ru": "Нет номера телефона в учёте: код подтверждения не отправить.",
                           "en": "There is no phone number on record to send the "
                                 "confirmation code to."},
}


def message(key: str, **values: object) -> Texts:
    """The message ``key`` in every language, with ``values`` filled in."""
    return {language: text.format(**values) for language, text in MESSAGES[key].items()}


def auth_message(reason: str, **values: object) -> Texts:
    """The words for an ``auth`` refusal (``reason``) in every language."""
    texts = AUTH_MESSAGES.get(reason, AUTH_MESSAGES["UNAUTHENTICATED"])
    return {language: text.format(**values) for language, text in texts.items()}
