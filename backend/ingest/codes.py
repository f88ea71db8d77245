"""Why a record is refused (or, for service payments, flagged), in words for the sender.

The codes are stable API; the words are for the person reading the sender's error report,
in Kazakh, Russian and English.
"""

from __future__ import annotations

from collections.abc import Mapping

from backend.i18n import Texts

REJECTIONS: Mapping[str, Texts] = {
    "MALFORMED_RECORD": {"kk": "Жазба JSON нысаны емес немесе өрістері дұрыс емес.",
                         "ru": "Запись не является объектом JSON или её поля неверны.",
                         "en": "The record is not a JSON object or its fields are wrong."},
    "RECORD_ID_MISSING": {"kk": "recordId жоқ немесе 128 таңбадан ұзын.",
                          "ru": "Нет recordId, или он длиннее 128 символов.",
                          "en": "recordId is missing or longer than 128 characters."},
    "RECORD_ID_CONFLICT": {
        "kk": "Бұл recordId бұрын басқа мазмұнмен келген.",
        "ru": "Этот recordId уже приходил с другим содержанием.",
        "en": "This recordId was received before with different content."},
    "IIN_INVALID": {"kk": "ЖСН дұрыс емес (пішімі немесе бақылау цифры).",
                    "ru": "ИИН неверен (формат или контрольная цифра).",
                    "en": "The IIN is not valid (format or check digit)."},
    "PERSON_UNKNOWN": {"kk": "Бұл ЖСН бойынша адам тіркелмеген.",
                       "ru": "Человек с этим ИИН не зарегистрирован.",
                       "en": "No person is registered with this IIN."},
    "KIND_UNKNOWN": {"kk": "Жарна түрі белгісіз.", "ru": "Неизвестный вид взноса.",
                     "en": "The contribution kind is unknown."},
    "PERIOD_INVALID": {"kk": "Кезең ЖЖЖЖ-АА түрінде, 2017-07-ден кейін болуы керек.",
                       "ru": "Период должен быть в виде ГГГГ-ММ, не раньше 2017-07.",
                       "en": "The period must be written YYYY-MM, 2017-07 or later."},
    "PERIOD_IN_FUTURE": {"kk": "Кезең келешекте (ағымдағы айдан кейін).",
                         "ru": "Период в будущем (после текущего месяца).",
                         "en": "The period is in the future (after this month)."},
    "PERIOD_OUTSIDE_RATES": {
        "kk": "Бұл ай үшін жарна мөлшерлемесі белгісіз (мөлшерлемелер кестесі оны қамтымайды).",
        "ru": "Для этого месяца ставка взноса неизвестна (таблица ставок его не покрывает).",
        "en": "No contribution rate is known for this month (the rate table does not cover "
              "it)."},
    "DATE_INVALID": {"kk": "Күн ЖЖЖЖ-АА-КК түрінде нақты күн болуы керек.",
                     "ru": "Дата должна быть реальной датой в виде ГГГГ-ММ-ДД.",
                     "en": "The date must be a real date written YYYY-MM-DD."},
    "DATE_IN_FUTURE": {"kk": "Күн келешекте.", "ru": "Дата в будущем.",
                       "en": "The date is in the future."},
    "AMOUNT_INVALID": {"kk": "Сома оң сан болуы керек, мысалы \"12400.00\".",
                       "ru": "Сумма должна быть положительным числом, например \"12400.00\".",
                       "en": "The amount must be a positive number such as \"12400.00\"."},
    "AMOUNT_ABSURD": {"kk": "Сома мүмкін шектен асады.",
                      "ru": "Сумма превышает возможный предел.",
                      "en": "The amount is beyond any possible value."},
    "PAYMENT_CODE_MISMATCH": {
        "kk": "Төлем коды (ТМК) жарна түріне сәйкес емес (121, 122 немесе бюджет).",
        "ru": "Код назначения платежа (КНП) не соответствует виду взноса (121, 122 или бюджет).",
        "en": "The payment code (KNP) does not fit the kind (121, 122, or none for budgets)."},
    "PAYER_UNKNOWN": {"kk": "Төлеуші (БСН немесе бюджет) табылмады.",
                      "ru": "Плательщик (БИН или бюджет) не найден.",
                      "en": "The payer (BIN or budget) was not found."},
    "PROVIDER_UNKNOWN": {"kk": "Бұл БСН бойынша медициналық ұйым жоқ.",
                         "ru": "Медицинской организации с этим БИН нет.",
                         "en": "No medical provider has this BIN."},
    "SERVICE_UNKNOWN": {"kk": "Қызмет коды каталогта жоқ.",
                        "ru": "Кода услуги нет в каталоге.",
                        "en": "The service code is not in the catalogue."},
    "PAID_BEFORE_CARE": {"kk": "Төлем күні көмек күнінен бұрын.",
                         "ru": "Дата оплаты раньше даты помощи.",
                         "en": "The payment date is before the date of care."},
    "ORIGINAL_UNKNOWN": {
        "kk": "Түзету сілтейтін бастапқы жазба (осы жіберушіден) табылмады.",
        "ru": "Исходная запись, на которую ссылается исправление (этого отправителя), не найдена.",
        "en": "The original record this correction refers to (from this sender) was not found."},
    "ORIGINAL_MISMATCH": {"kk": "Түзету басқа адамның жазбасына сілтейді.",
                          "ru": "Исправление ссылается на запись другого человека.",
                          "en": "The correction refers to another person's record."},
    "CORRECTION_EXCEEDS_ORIGINAL": {
        "kk": "Қайтарымдар бастапқы сомадан асады.",
        "ru": "Возвраты превышают исходную сумму.",
        "en": "The corrections add up to more than the original amount."},
}
