"""What a person reads about who looked at their data, in Kazakh, Russian and English."""

from __future__ import annotations

from collections.abc import Mapping

from backend.i18n import Texts

PURPOSES: Mapping[str, Texts] = {
    "profile": {"kk": "атыңызды және ЖСН-нің соңғы цифрларын",
                "ru": "ваше имя и последние цифры ИИН",
                "en": "your name and the last digits of your IIN"},
    "insurance_status": {"kk": "сақтандыру мәртебеңізді", "ru": "ваш статус страхования",
                         "en": "your insurance status"},
    "devices": {"kk": "қолданбаға кірген құрылғыларыңызды",
                "ru": "устройства, на которых вы вошли в приложение",
                "en": "the devices you are signed in on"},
    "onboarding_code": {"kk": "жаңа телефонға кіру кодын жасады",
                        "ru": "создал код входа для нового телефона",
                        "en": "created a sign-in code for a new phone"},
    "onboarding_sign_in": {"kk": "жаңа телефонға кіруіңізге SMS кодыңызбен көмектесті",
                           "ru": "помог(ла) войти на новом телефоне по вашему SMS-коду",
                           "en": "helped you sign in on a new phone (confirmed by your SMS code)"},
    "notification_check": {"kk": "телефондарыңызға сынақ хабарландыруын жіберді",
                           "ru": "отправил(а) проверочное уведомление на ваши телефоны",
                           "en": "sent a test notification to your phones"},
    "consent_sms": {"kk": "тіркелген телефоныңызға SMS арқылы келісім кодын жіберді",
                    "ru": "отправил(а) код согласия по SMS на ваш телефон из учёта",
                    "en": "sent a consent code by SMS to your phone on record"},
    "child_profile": {"kk": "атыңызды және туған күніңізді",
                      "ru": "ваше имя и дату рождения",
                      "en": "your name and date of birth"},
    "contributions": {"kk": "сіз үшін төленген жарналарды",
                      "ru": "взносы, уплаченные за вас",
                      "en": "the contributions paid for you"},
    "covered_services": {"kk": "Қор сіз үшін төлеген медициналық көмекті",
                         "ru": "медицинскую помощь, оплаченную за вас Фондом",
                         "en": "the care the Fund paid for you"},
    "service_reports": {"kk": "алмаған көмегіңіз туралы өтініштеріңізді",
                        "ru": "ваши обращения о неполученной помощи",
                        "en": "your reports about care you did not receive"},
    "service_report": {"kk": "сізге көрсетілмеген көмек туралы өтініш жіберді",
                       "ru": "сообщил(а) о неполученной вами помощи",
                       "en": "reported care you may not have received"},
    "eligibility": {"kk": "сақтандыру мәртебеңізді тексерді",
                    "ru": "проверил ваш статус страхования",
                    "en": "checked your insurance status"},
}
REASONS: Mapping[str, Texts] = {
    "consent": {"kk": "сіздің келісіміңізбен", "ru": "с вашего согласия",
                "en": "with your consent"},
    "desk": {"kk": "тіркеу орнында", "ru": "в регистратуре", "en": "at the registry desk"},
    "scope": {"kk": "келісімшарт бойынша рұқсатпен", "ru": "по разрешению договора",
              "en": "under its contract's permission"},
    "guardianship": {"kk": "ата-анаңыз немесе қамқоршыңыз ретінде",
                     "ru": "как ваш родитель или опекун",
                     "en": "as your parent or guardian"},
}
# "{actor} ({organization}) looked at {purpose} {reason}."
SENTENCE: Texts = {
    "kk": "{actor} ({organization}) {reason} {purpose} қарады.",
    "ru": "{actor} ({organization}) {reason} просмотрел(а) {purpose}.",
    "en": "{actor} ({organization}) looked at {purpose} {reason}.",
}
# Purposes that are actions, not looks: "{actor} ({organization}) {purpose} {reason}."
ACTION: Texts = {
    "kk": "{actor} ({organization}) {reason} {purpose}.",
    "ru": "{actor} ({organization}) {reason} {purpose}.",
    "en": "{actor} ({organization}) {purpose} {reason}.",
}
# A look by a person, not by someone of an organization (a parent): the same sentences
# without "({organization})".
ALONE = " ({organization})"
ACTIONS = frozenset({"onboarding_code", "onboarding_sign_in", "eligibility",
                     "notification_check", "consent_sms", "service_report"})
