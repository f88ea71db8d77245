"""What a person reads about cases, in Kazakh, Russian and English: why a report or a change
is refused, and where a case stands."""

from __future__ import annotations

from collections.abc import Mapping

from backend.i18n import Texts, pick

REFUSALS: Mapping[str, Texts] = {
    "SERVICE_NOT_FOUND": {
        "kk": "Мұндай көрсетілген қызмет табылмады.",
        "ru": "Такая оказанная услуга не найдена.",
        "en": "There is no such covered service."},
    "SERVICE_NOT_REPORTABLE": {
        "kk": "Бұл жазба — Қордың медициналық ұйымнан қайтарып алған сомасы, көмек емес: "
              "ол туралы хабарлау мүмкін емес.",
        "ru": "Эта запись — сумма, удержанная Фондом у клиники, а не помощь: сообщить о ней "
              "нельзя.",
        "en": "This entry is money the Fund took back from a clinic, not care: it cannot be "
              "reported."},
    "ALREADY_CONFIRMED": {
        "kk": "Бұл қызмет туралы өтініш расталған: Қор төлемді медициналық ұйымнан қайтарып "
              "алды.",
        "ru": "Обращение об этой услуге уже подтверждено: Фонд вернул оплату у клиники.",
        "en": "A report about this service was confirmed already: the Fund took the payment "
              "back from the clinic."},
    "CASE_ALREADY_OPEN": {
        "kk": "Бұл қызмет туралы өтініш қаралуда. Қордың жауабын күтіңіз.",
        "ru": "Обращение об этой услуге уже рассматривается. Дождитесь ответа Фонда.",
        "en": "A report about this service is already open. Wait for the Fund's answer."},
    "DAILY_LIMIT": {
        "kk": "Бір күнде {limit} өтініштен артық жіберуге болмайды. Ертең қайталаңыз.",
        "ru": "В день можно отправить не больше {limit} обращений. Повторите завтра.",
        "en": "You can send at most {limit} reports a day. Try again tomorrow."},
    "NOTHING_WRONG": {
        "kk": "Жауаптарыңыз бойынша көмек сол күні көрсетілген және сізден ақы сұралмаған. "
              "Не дұрыс емес екенін белгілеңіз.",
        "ru": "По вашим ответам помощь оказана в тот день и оплату с вас не просили. "
              "Укажите, что не так.",
        "en": "Your answers say the care was given on that day and you were not asked to pay. "
              "Say what is wrong."},
    "COMMENT_TOO_LONG": {
        "kk": "Түсініктеме {max} таңбадан аспауы керек.",
        "ru": "Комментарий должен быть не длиннее {max} символов.",
        "en": "The comment must be at most {max} characters long."},
    "COMMENT_FORBIDDEN": {
        "kk": "Түсініктемеде рұқсат етілмеген таңба бар: тек мәтін жазыңыз.",
        "ru": "В комментарии есть недопустимый символ: пишите только текст.",
        "en": "The comment contains a character that is not allowed: write plain text."},
    "AMOUNT_INVALID": {
        "kk": "Сома теңгемен жазылады, мысалы 5000 немесе 5000.50, және тек сізден ақы "
              "сұралғанда.",
        "ru": "Сумма пишется в тенге, например 5000 или 5000.50, и только если с вас просили "
              "оплату.",
        "en": "Write the amount in tenge, for example 5000 or 5000.50, and only when you were "
              "asked to pay."},
    "DISPUTE_NOT_FOUND": {
        "kk": "Мұндай өтініш жоқ.", "ru": "Такого обращения нет.",
        "en": "There is no such case."},
    "DISPUTE_RESOLVED": {
        "kk": "Өтініш бойынша шешім шығарылған: оны өзгертуге болмайды.",
        "ru": "По обращению уже принято решение: изменить его нельзя.",
        "en": "The case is resolved already: it cannot be changed."},
    "DISPUTE_NOT_IN_REVIEW": {
        "kk": "Алдымен өтінішті қарайтын қызметкерге тапсырыңыз (assignDispute).",
        "ru": "Сначала назначьте обращение проверяющему (assignDispute).",
        "en": "Assign the case to a reviewer first (assignDispute)."},
    "TEXT_INVALID": {
        "kk": "`{field}` мәні бос, тым ұзын немесе рұқсат етілмеген таңбасы бар.",
        "ru": "Значение `{field}` пустое, слишком длинное или содержит недопустимый символ.",
        "en": "`{field}` is blank, too long, or contains a character that is not allowed."},
}

STATES: Mapping[str, Texts] = {
    "submitted": {"kk": "Қабылданды", "ru": "Принято", "en": "Received"},
    "in_review": {"kk": "Қаралуда", "ru": "На проверке", "en": "Being checked"},
    "confirmed": {"kk": "Расталды", "ru": "Подтвердилось", "en": "Confirmed"},
    "not_confirmed": {"kk": "Расталмады", "ru": "Не подтвердилось", "en": "Not confirmed"},
}
SUMMARY: Mapping[str, Texts] = {
    # {due}: "by 8 December 2026" in the reader's language (``date_by``).
    "open": {"kk": "Қор {due} жауап береді.",
             "ru": "Фонд ответит {due}.",
             "en": "The Fund will answer {due}."},
    "overdue": {"kk": "Қор {due} жауап беруі тиіс еді; жауап әлі жоқ. 1406 нөміріне "
                      "хабарласуға болады.",
                "ru": "Фонд должен был ответить {due}, ответа пока нет. Можно обратиться "
                      "по номеру 1406.",
                "en": "The Fund was due to answer {due} and has not yet. You can call "
                      "1406."},
    "confirmed": {"kk": "Қор өтінішті растап, медициналық ұйымнан {amount} қайтарып алды.",
                  "ru": "Фонд подтвердил обращение и вернул у клиники {amount}.",
                  "en": "The Fund confirmed your report and took {amount} back from the "
                        "clinic."},
    "confirmed_nothing": {"kk": "Қор өтінішті растады.",
                          "ru": "Фонд подтвердил обращение.",
                          "en": "The Fund confirmed your report."},
    "not_confirmed": {"kk": "Қор өтінішті растамады.",
                      "ru": "Фонд не подтвердил обращение.",
                      "en": "The Fund did not confirm your report."},
}


def refusal(reason: str, **values: object) -> Texts:
    """The words of a refusal in every language, with ``values`` filled in."""
    return {language: text.format(**values) for language, text in REFUSALS[reason].items()}


def summary(key: str, language: str, **values: object) -> str:
    """One sentence of ``SUMMARY`` in ``language``."""
    return pick(SUMMARY[key], language).format(**values)
