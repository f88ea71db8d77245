"""Every word of the desk console, in Kazakh, Russian and English (a test walks the table).

Keys name the place on the page; ``{name}`` fields are filled by the template.  Refusals from
``auth`` (``WRONG_CODE``...) reuse the API's own words (``backend.messages.AUTH_MESSAGES``);
only what the console alone says is here.
"""

from __future__ import annotations

from collections.abc import Mapping

from backend.i18n import Texts

LANGUAGE_NAMES: Mapping[str, str] = {"kk": "Қазақша", "ru": "Русский", "en": "English"}

TEXTS: Mapping[str, Texts] = {
    # -- the frame of every page ------------------------------------------------------------
    "app_title": {"kk": "Тіркеу орны — МӘМС", "ru": "Регистратура — ОСМС",
                  "en": "Registry desk — MHI"},
    "skip": {"kk": "Негізгі мазмұнға өту", "ru": "Перейти к содержанию",
             "en": "Skip to the main content"},
    "signed_in_as": {"kk": "Сіз кірдіңіз: {name}, {clinic}",
                     "ru": "Вы вошли как {name}, {clinic}",
                     "en": "Signed in as {name}, {clinic}"},
    "sign_out": {"kk": "Шығу", "ru": "Выйти", "en": "Sign out"},
    "nav": {"kk": "Бөлімдер", "ru": "Разделы", "en": "Sections"},
    "nav_patient": {"kk": "Пациентке көмек", "ru": "Помощь пациенту", "en": "Help a patient"},
    "nav_help": {"kk": "Анықтама", "ru": "Справка", "en": "Help articles"},
    "nav_staff": {"kk": "Қызметкерлер", "ru": "Сотрудники", "en": "Staff"},
    "language": {"kk": "Тіл", "ru": "Язык", "en": "Language"},
    "refresh": {"kk": "Жаңарту", "ru": "Обновить", "en": "Refresh"},
    "back_home": {"kk": "Басты бетке", "ru": "На главную", "en": "Back to the start"},
    "until": {"kk": "{time} дейін", "ru": "до {time}", "en": "until {time}"},
    # -- signing in and out -----------------------------------------------------------------
    "sign_in_title": {"kk": "Тіркеу орнына кіру", "ru": "Вход в регистратуру",
                      "en": "Sign in to the registry desk"},
    "username": {"kk": "Пайдаланушы аты", "ru": "Имя пользователя", "en": "Username"},
    "password": {"kk": "Құпиясөз", "ru": "Пароль", "en": "Password"},
    "sign_in": {"kk": "Кіру", "ru": "Войти", "en": "Sign in"},
    "signed_out": {"kk": "Сіз шықтыңыз.", "ru": "Вы вышли.", "en": "You have signed out."},
    "session_ended": {
        "kk": "Сеанс аяқталды (ұзақ уақыт әрекет болмады). Қайта кіріңіз.",
        "ru": "Сеанс завершён (долго не было действий). Войдите снова.",
        "en": "Your session has ended (no activity for a while). Please sign in again."},
    "have_code": {"kk": "Әкімшіден бір реттік код алдыңыз ба? Құпиясөз орнатыңыз",
                  "ru": "Получили одноразовый код от администратора? Задайте пароль",
                  "en": "Got a one-time code from your administrator? Set your password"},
    "rate_limited": {"kk": "Әрекет тым көп. {minutes} минуттан кейін қайталаңыз.",
                     "ru": "Слишком много попыток. Повторите через {minutes} мин.",
                     "en": "Too many attempts. Try again in {minutes} min."},
    # -- helping a patient ------------------------------------------------------------------
    "home_title": {"kk": "Пациентке көмек", "ru": "Помощь пациенту", "en": "Help a patient"},
    "home_intro": {
        "kk": "Пациенттің келісімімен 15 минут ішінде оның мәртебесін, құрылғыларын көріп, "
              "жаңа телефонға кіруге көмектесе аласыз. Төлемдер мен емделу көрсетілмейді.",
        "ru": "С согласия пациента на 15 минут вы видите его статус и устройства и можете "
              "помочь войти на новом телефоне. Платежи и лечение не показываются.",
        "en": "With the patient's consent you can, for 15 minutes, see their status and devices "
              "and help them sign in on a new phone. Payments and care are never shown."},
    "by_app_title": {"kk": "Қосымшада келісім коды бар", "ru": "Код согласия в приложении",
                     "en": "The patient has the app"},
    "by_app_hint": {
        "kk": "Пациент қосымшада «Тіркеу орнына келісім» бөлімін ашып, 8 таңбалы кодты "
              "көрсетеді.",
        "ru": "Пациент открывает в приложении «Согласие для регистратуры» и показывает код "
              "из 8 знаков.",
        "en": "The patient opens “Consent for the desk” in the app and shows the "
              "8-character code."},
    "consent_code": {"kk": "Келісім коды", "ru": "Код согласия", "en": "Consent code"},
    "open_patient": {"kk": "Пациентті ашу", "ru": "Открыть пациента", "en": "Open the patient"},
    "by_sms_title": {"kk": "Қосымша жоқ: SMS арқылы келісім",
                     "ru": "Нет приложения: согласие по SMS",
                     "en": "No app: consent by SMS"},
    "by_sms_hint": {
        "kk": "Пациенттің ЖСН-ін енгізіңіз. Тіркелген телефонға 6 таңбалы код келеді, пациент "
              "оны сізге айтады.",
        "ru": "Введите ИИН пациента. На телефон из учёта придёт код из 6 цифр, пациент "
              "назовёт его вам.",
        "en": "Type the patient's IIN. A 6-digit code goes by SMS to the phone on record, and "
              "the patient reads it out to you."},
    "iin": {"kk": "ЖСН (12 цифр)", "ru": "ИИН (12 цифр)", "en": "IIN (12 digits)"},
    "send_sms": {"kk": "SMS жіберу", "ru": "Отправить SMS", "en": "Send the SMS"},
    "sms_sent": {"kk": "Код {phone} нөміріне жіберілді ({time} дейін жарамды). Пациенттен "
                       "кодты айтуын сұраңыз.",
                 "ru": "Код отправлен на {phone} (действует до {time}). Попросите пациента "
                       "назвать код.",
                 "en": "The code went to {phone} (valid until {time}). Ask the patient to "
                       "read it out."},
    "sms_code": {"kk": "SMS-тегі код", "ru": "Код из SMS", "en": "Code from the SMS"},
    "confirm": {"kk": "Растау", "ru": "Подтвердить", "en": "Confirm"},
    "attempts_left": {"kk": "Қалған әрекет: {count}", "ru": "Осталось попыток: {count}",
                      "en": "Attempts left: {count}"},
    "open_windows": {"kk": "Ашық келісімдер", "ru": "Открытые согласия",
                     "en": "Patients you are helping now"},
    "no_windows": {"kk": "Қазір ашық келісім жоқ.", "ru": "Сейчас открытых согласий нет.",
                   "en": "No consent is open now."},
    # -- the patient ------------------------------------------------------------------------
    "consent": {"kk": "Келісім", "ru": "Согласие", "en": "Consent"},
    "patient_title": {"kk": "Пациент", "ru": "Пациент", "en": "Patient"},
    "name": {"kk": "Аты-жөні", "ru": "Имя", "en": "Name"},
    "iin_masked": {"kk": "ЖСН", "ru": "ИИН", "en": "IIN"},
    "consent_ends": {"kk": "Келісім {time} аяқталады", "ru": "Согласие действует до {time}",
                     "en": "Consent ends at {time}"},
    "minutes_left": {"kk": "{minutes} мин қалды", "ru": "осталось {minutes} мин",
                     "en": "{minutes} min left"},
    "status_title": {"kk": "Сақтандыру мәртебесі", "ru": "Статус страхования",
                     "en": "Insurance status"},
    "guaranteed_until": {
        "kk": "Жаңа жарна түспесе де, кемінде {date} дейін көмек алады.",
        "ru": "Даже без новых взносов помощь гарантирована по {date} включительно.",
        "en": "Even if nothing new is paid, care is guaranteed until {date}."},
    "no_guarantee": {"kk": "Кепілдік мерзімі жоқ.", "ru": "Гарантированного срока нет.",
                     "en": "No guaranteed period."},
    "devices_title": {"kk": "Хабарландыру баратын телефондар",
                      "ru": "Телефоны для уведомлений",
                      "en": "Phones that receive notifications"},
    "no_devices": {"kk": "Бірде-бір телефон тіркелмеген: хабарландырулар келмейді.",
                   "ru": "Ни один телефон не зарегистрирован: уведомления не приходят.",
                   "en": "No phone is registered: no notifications arrive."},
    "device": {"kk": "{platform}, қосымша {version}", "ru": "{platform}, приложение {version}",
               "en": "{platform}, app {version}"},
    "last_seen": {"kk": "Соңғы рет: {date}", "ru": "Последний раз: {date}",
                  "en": "Last seen: {date}"},
    "push_on": {"kk": "Хабарландырулар келеді", "ru": "Уведомления приходят",
                "en": "Notifications arrive"},
    "switched_off": {"kk": "Пациент өшірген хабарландырулар: {categories}.",
                     "ru": "Пациент отключил уведомления: {categories}.",
                     "en": "The patient switched off: {categories}."},
    "quiet_hours": {"kk": "Тыныштық сағаттары: {starts}–{ends} (хабарландырулар таңертең келеді).",
                    "ru": "Тихие часы: {starts}–{ends} (уведомления придут утром).",
                    "en": "Quiet hours: {starts}–{ends} (notifications wait until they end)."},
    "cat_PAYMENTS": {"kk": "жарналар", "ru": "взносы", "en": "payments"},
    "cat_SERVICE_PAYMENTS": {"kk": "емделуге төлемдер", "ru": "оплата лечения",
                             "en": "payments for care"},
    "cat_STATUS": {"kk": "мәртебе", "ru": "статус", "en": "status"},
    "cat_REMINDERS": {"kk": "еске салғыштар", "ru": "напоминания", "en": "reminders"},
    "cat_ANNOUNCEMENTS": {"kk": "Қор жаңалықтары", "ru": "новости Фонда",
                          "en": "news from the Fund"},
    "cat_CRITICAL": {"kk": "маңызды", "ru": "важные", "en": "critical"},
    "sessions_title": {"kk": "Қосымшаға кірген құрылғылар", "ru": "Где выполнен вход",
                       "en": "Signed in on"},
    "no_sessions": {"kk": "Қосымшаға ешбір құрылғыдан кірмеген.",
                    "ru": "Вход в приложение не выполнен ни на одном устройстве.",
                    "en": "Not signed in on any device."},
    "signed_in_on": {"kk": "{device}: {date} кірді", "ru": "{device}: вход {date}",
                     "en": "{device}: signed in {date}"},
    "unnamed_device": {"kk": "Аты жоқ құрылғы", "ru": "Устройство без названия",
                       "en": "Unnamed device"},
    "actions_title": {"kk": "Не істеу керек", "ru": "Что сделать", "en": "What to do"},
    "new_phone": {"kk": "Жаңа телефонға кіру", "ru": "Вход на новом телефоне",
                  "en": "Sign in on a new phone"},
    "check_push": {"kk": "Хабарландыруларды тексеру", "ru": "Проверить уведомления",
                   "en": "Check that notifications work"},
    "never_money": {"kk": "Тіркеу орны төлемдер мен емделу туралы деректерді көрмейді.",
                    "ru": "Регистратура не видит платежи и сведения о лечении.",
                    "en": "The desk never sees payments or medical care."},
    "window_closed_title": {"kk": "Келісім аяқталды", "ru": "Согласие закончилось",
                            "en": "The consent has ended"},
    # -- onboarding -------------------------------------------------------------------------
    "onboarding_title": {"kk": "Жаңа телефонға кіру", "ru": "Вход на новом телефоне",
                         "en": "Sign in on a new phone"},
    "onboarding_intro": {
        "kk": "Пациент қосымшаны ашып, «Тіркеу орнының коды бар» таңдайды да, QR-кодты "
              "сканерлейді немесе кодты теріп жазады. Содан кейін тіркелген телефонға келген "
              "SMS-кодты енгізеді.",
        "ru": "Пациент открывает приложение, выбирает «У меня код из регистратуры», сканирует "
              "QR-код или вводит код вручную, затем вводит код из SMS, пришедший на телефон "
              "из учёта.",
        "en": "The patient opens the app, chooses “I have a code from the desk”, scans the QR "
              "code or types the code, then types the code that arrives by SMS on the phone on "
              "record."},
    "qr_label": {"kk": "Қосымшаға кіру үшін QR-код", "ru": "QR-код для входа в приложение",
                 "en": "QR code to sign in to the app"},
    "code_to_type": {"kk": "Қолмен теретін код", "ru": "Код для ручного ввода",
                     "en": "Code to type"},
    "code_valid_until": {"kk": "Код {time} дейін жарамды", "ru": "Код действует до {time}",
                         "en": "The code works until {time}"},
    "code_once": {"kk": "Код бір рет көрсетіледі.", "ru": "Код показывается один раз.",
                  "en": "The code is shown only once."},
    "steps_title": {"kk": "Қадамдар", "ru": "Шаги", "en": "Steps"},
    "step_code_shown": {"kk": "Код көрсетілді", "ru": "Код показан", "en": "Code shown"},
    "step_scanned": {"kk": "Код сканерленді, SMS жіберілді",
                     "ru": "Код отсканирован, SMS отправлено",
                     "en": "Code scanned, SMS sent"},
    "step_signed_in": {"kk": "SMS-код расталды: қосымшаға кірді",
                       "ru": "Код из SMS подтверждён: вход выполнен",
                       "en": "SMS code confirmed: signed in"},
    "step_notifications_on": {"kk": "Хабарландырулар қосылды", "ru": "Уведомления включены",
                              "en": "Notifications on"},
    "step_done": {"kk": "орындалды", "ru": "выполнено", "en": "done"},
    "step_waiting": {"kk": "күтілуде", "ru": "ожидается", "en": "waiting"},
    "code_expired": {"kk": "Кодтың мерзімі өтті. Жаңа код жасаңыз.",
                     "ru": "Срок действия кода истёк. Создайте новый код.",
                     "en": "The code has expired. Make a new one."},
    "new_code": {"kk": "Жаңа код жасау", "ru": "Создать новый код", "en": "Make a new code"},
    "no_onboarding": {"kk": "Бұл келісімде әлі код жасалмаған.",
                      "ru": "В этом согласии код ещё не создавался.",
                      "en": "No code has been made in this consent yet."},
    "back_patient": {"kk": "Пациентке оралу", "ru": "Вернуться к пациенту",
                     "en": "Back to the patient"},
    # -- the notification check -------------------------------------------------------------
    "check_title": {"kk": "Хабарландыруды тексеру", "ru": "Проверка уведомлений",
                    "en": "Notification check"},
    "check_intro": {"kk": "Пациенттің әр телефонына сынақ хабарландыруы жіберілді.",
                    "ru": "На каждый телефон пациента отправлено проверочное уведомление.",
                    "en": "A test notification was sent to each of the patient's phones."},
    "check_waiting": {"kk": "Хабарландыру қызметі өңдеуде…",
                      "ru": "Служба уведомлений обрабатывает…",
                      "en": "The notification service is working on it…"},
    "state_pending": {"kk": "Кезекте", "ru": "В очереди", "en": "Waiting to be sent"},
    "state_held": {"kk": "Тыныштық сағаттары: {time} жіберіледі",
                   "ru": "Тихие часы: будет отправлено в {time}",
                   "en": "Held for quiet hours until {time}"},
    "state_sending": {"kk": "Жіберілуде", "ru": "Отправляется", "en": "Sending"},
    "state_sent": {"kk": "Жіберілді: телефонға жетті", "ru": "Отправлено: дошло до телефона",
                   "en": "Sent: it reached the phone's service"},
    "state_rejected": {
        "kk": "Қабылданбады: қосымша өшірілген немесе қайта орнатылған. Қосымшаны ашып, қайта "
              "кіру керек.",
        "ru": "Отклонено: приложение удалено или переустановлено. Нужно открыть приложение и "
              "войти снова.",
        "en": "Rejected: the app was removed or reinstalled. Open the app and sign in again."},
    "state_dead": {"kk": "Жіберілмеді (қайталау тоқтатылды)", "ru": "Не отправлено (повторы "
                   "прекращены)", "en": "Not sent (retries gave up)"},
    "state_cancelled": {"kk": "Тоқтатылды: құрылғы өшірілді",
                        "ru": "Отменено: устройство отключено",
                        "en": "Cancelled: the device was retired"},
    "state_unknown": {"kk": "Белгісіз: қайта тексеріңіз", "ru": "Неизвестно: проверьте ещё раз",
                      "en": "Unknown: check again"},
    "state_none": {"kk": "Бұл телефонға жіберілмейді", "ru": "На этот телефон не отправляется",
                   "en": "Not sent to this phone"},
    "check_limit": {"kk": "Бір пациентке сағатына {count} тексеруден артық емес.",
                    "ru": "Не больше {count} проверок на пациента в час.",
                    "en": "At most {count} checks per patient per hour."},
    # -- why a phone gets no pushes (the device's push_off_reason) --------------------------
    "off_NOT_SEEN_RECENTLY": {"kk": "30 күннен бері ашылмаған: қосымшаны ашу керек",
                              "ru": "Не открывалось 30 дней: нужно открыть приложение",
                              "en": "Not opened for 30 days: open the app"},
    "off_SIGNED_OUT": {"kk": "Қосымшадан шыққан", "ru": "Выполнен выход из приложения",
                       "en": "Signed out of the app"},
    "off_UNREGISTERED_BY_USER": {"kk": "Пациент хабарландыруларды өшірген",
                                 "ru": "Пациент отключил уведомления",
                                 "en": "Switched off by the patient"},
    "off_MOVED": {"kk": "Бұл телефонға басқа адам кірді",
                  "ru": "На этом телефоне вошёл другой человек",
                  "en": "Someone else signed in on this phone"},
    "off_UNREGISTERED": {"kk": "Қосымша жойылған", "ru": "Приложение удалено",
                         "en": "The app was removed"},
    "off_SENDER_ID_MISMATCH": {"kk": "Қосымша нұсқасы сәйкес емес: жаңартыңыз",
                               "ru": "Неподходящая версия приложения: обновите",
                               "en": "Wrong app build: update the app"},
    "off_REGISTERED_AFTER_CHECK": {
        "kk": "Тексеруден кейін тіркелді: тағы бір тексеру жіберіңіз",
        "ru": "Зарегистрирован после проверки: отправьте ещё одну",
        "en": "Registered after the check: send another"},
    "off_INVALID_TOKEN": {"kk": "Тіркеу жарамсыз: қосымшаны қайта ашыңыз",
                          "ru": "Регистрация недействительна: откройте приложение снова",
                          "en": "Registration not valid: open the app again"},
    # -- staff management -------------------------------------------------------------------
    "staff_title": {"kk": "Клиника қызметкерлері", "ru": "Сотрудники клиники",
                    "en": "Your clinic's staff"},
    "create_title": {"kk": "Жаңа қызметкер", "ru": "Новый сотрудник", "en": "New staff member"},
    "display_name": {"kk": "Аты-жөні", "ru": "ФИО", "en": "Full name"},
    "role": {"kk": "Рөлі", "ru": "Роль", "en": "Role"},
    "role_worker": {"kk": "Тіркеу орнының қызметкері", "ru": "Сотрудник регистратуры",
                    "en": "Desk worker"},
    "role_admin": {"kk": "Әкімші", "ru": "Администратор", "en": "Administrator"},
    "create": {"kk": "Құру", "ru": "Создать", "en": "Create"},
    "code_for": {
        "kk": "{username} үшін бір реттік код: {code}. {time} дейін жарамды. Оны өзіне "
              "қолма-қол беріңіз: код қайта көрсетілмейді.",
        "ru": "Одноразовый код для {username}: {code}. Действует до {time}. Передайте его "
              "лично: код больше не покажется.",
        "en": "One-time code for {username}: {code}. It works until {time}. Hand it over in "
              "person: it is not shown again."},
    "account_state": {"kk": "Күйі", "ru": "Состояние", "en": "Status"},
    "command_line": {"kk": "жүйе әкімшісі (командалық жол)",
                     "ru": "системный администратор (командная строка)",
                     "en": "system administrator (command line)"},
    "active": {"kk": "Белсенді", "ru": "Активен", "en": "Active"},
    "inactive": {"kk": "Өшірілген", "ru": "Отключён", "en": "Deactivated"},
    "no_password": {"kk": "құпиясөз әлі орнатылмаған", "ru": "пароль ещё не задан",
                    "en": "no password set yet"},
    "deactivate": {"kk": "Өшіру", "ru": "Отключить", "en": "Deactivate"},
    "reactivate": {"kk": "Қайта қосу", "ru": "Включить снова", "en": "Reactivate"},
    "reset_password": {"kk": "Құпиясөзді қалпына келтіру коды",
                       "ru": "Код для сброса пароля", "en": "Password reset code"},
    "for_person": {"kk": "{name} үшін", "ru": "для {name}", "en": "for {name}"},
    "audit_title": {"kk": "Өзгерістер журналы", "ru": "Журнал изменений",
                    "en": "Changes to staff"},
    "audit_line": {"kk": "{at}: {actor} — {action}: {target}",
                   "ru": "{at}: {actor} — {action}: {target}",
                   "en": "{at}: {actor} — {action}: {target}"},
    "audit_created": {"kk": "құрды", "ru": "создал(а)", "en": "created"},
    "audit_deactivated": {"kk": "өшірді", "ru": "отключил(а)", "en": "deactivated"},
    "audit_reactivated": {"kk": "қайта қосты", "ru": "включил(а)", "en": "reactivated"},
    "audit_password_code_issued": {"kk": "құпиясөз кодын берді", "ru": "выдал(а) код пароля",
                                   "en": "issued a password code"},
    "audit_password_set": {"kk": "құпиясөз орнатты", "ru": "задал(а) пароль",
                           "en": "set a password"},
    "USERNAME_INVALID": {
        "kk": "Пайдаланушы аты: 3–32 латын әрпі, цифр, нүкте, сызықша немесе астын сызу.",
        "ru": "Имя пользователя: 3–32 латинские буквы, цифры, точки, дефисы или "
              "подчёркивания.",
        "en": "A username is 3 to 32 Latin letters, digits, dots, dashes or underscores."},
    "USERNAME_TAKEN": {"kk": "Бұл пайдаланушы аты бос емес.", "ru": "Это имя уже занято.",
                       "en": "This username is taken; choose another."},
    "NAME_REQUIRED": {"kk": "Аты-жөнін жазыңыз (80 таңбаға дейін).",
                      "ru": "Укажите ФИО (до 80 знаков).",
                      "en": "Give the person's name (at most 80 characters)."},
    "NOT_YOURSELF": {"kk": "Өз есептік жазбаңызды өшіре алмайсыз.",
                     "ru": "Нельзя отключить собственную учётную запись.",
                     "en": "You cannot deactivate your own account."},
    "NOT_FOUND": {"kk": "Клиникаңызда мұндай есептік жазба жоқ.",
                  "ru": "В вашей клинике нет такой учётной записи.",
                  "en": "There is no such account at your clinic."},
    "FORBIDDEN": {"kk": "Мұны тек клиника әкімшісі жасай алады.",
                  "ru": "Это может сделать только администратор клиники.",
                  "en": "Only your clinic's administrator may do this."},
    # -- setting a password -----------------------------------------------------------------
    "set_password_title": {"kk": "Құпиясөз орнату", "ru": "Задать пароль",
                           "en": "Set your password"},
    "setup_code": {"kk": "Әкімшінің бір реттік коды", "ru": "Одноразовый код администратора",
                   "en": "One-time code from your administrator"},
    "new_password": {"kk": "Жаңа құпиясөз (кемінде 12 таңба)",
                     "ru": "Новый пароль (не меньше 12 знаков)",
                     "en": "New password (at least 12 characters)"},
    "repeat_password": {"kk": "Құпиясөзді қайталаңыз", "ru": "Повторите пароль",
                        "en": "Repeat the password"},
    "save_password": {"kk": "Сақтау", "ru": "Сохранить", "en": "Save"},
    "passwords_differ": {"kk": "Құпиясөздер сәйкес келмейді.", "ru": "Пароли не совпадают.",
                         "en": "The two passwords differ."},
    "PASSWORD_WEAK": {"kk": "Құпиясөз кемінде 12 таңба болуы керек және пайдаланушы атын "
                            "қамтымауы керек.",
                      "ru": "Пароль должен быть не короче 12 знаков и не содержать имя "
                            "пользователя.",
                      "en": "A password needs at least 12 characters and must not contain "
                            "the username."},
    "SETUP_WRONG_CODE": {"kk": "Пайдаланушы аты немесе код дұрыс емес не мерзімі өткен. "
                               "Әкімшіден жаңа код сұраңыз.",
                         "ru": "Неверное имя или код, либо срок кода истёк. Попросите у "
                               "администратора новый код.",
                         "en": "The username or the code is not right, or the code has "
                               "expired. Ask your administrator for a new one."},
    "password_saved": {"kk": "Құпиясөз сақталды. Енді кіріңіз.",
                       "ru": "Пароль сохранён. Теперь войдите.",
                       "en": "Your password is saved. You can sign in now."},
    # -- help -------------------------------------------------------------------------------
    "help_title": {"kk": "Анықтама", "ru": "Справка", "en": "Help articles"},
    "help_for_staff": {"kk": "Тіркеу орнына", "ru": "Для регистратуры", "en": "For the desk"},
    "help_for_citizens": {"kk": "Азаматтарға", "ru": "Для граждан", "en": "For citizens"},
    "handout": {"kk": "Пациентке парақ басып шығару", "ru": "Распечатать памятку пациенту",
                "en": "Print a handout for the patient"},
    "handout_in": {"kk": "Пациенттің тілі", "ru": "Язык пациента",
                   "en": "The patient's language"},
    "print": {"kk": "Басып шығару", "ru": "Печать", "en": "Print"},
    "handout_brand": {"kk": "МӘМС: міндетті әлеуметтік медициналық сақтандыру",
                      "ru": "ОСМС: обязательное социальное медицинское страхование",
                      "en": "MHI: compulsory social health insurance"},
    "get_app": {"kk": "Қосымшаны жүктеу үшін сканерлеңіз",
                "ru": "Отсканируйте, чтобы скачать приложение",
                "en": "Scan to get the app"},
    "article_missing": {"kk": "Мұндай мақала жоқ.", "ru": "Такой статьи нет.",
                        "en": "There is no such article."},
    # -- refusals of the console itself -----------------------------------------------------
    "csrf_title": {"kk": "Форманың мерзімі өтті", "ru": "Форма устарела",
                   "en": "This form has expired"},
    "csrf_text": {"kk": "Бетті жаңартып, әрекетті қайталаңыз.",
                  "ru": "Обновите страницу и повторите действие.",
                  "en": "Reload the page and try again."},
    "not_found_title": {"kk": "Бет табылмады", "ru": "Страница не найдена",
                        "en": "Page not found"},
    "not_found_text": {"kk": "Мұндай бет жоқ. Басты беттен бастаңыз.",
                       "ru": "Такой страницы нет. Начните с главной.",
                       "en": "There is no such page. Start from the beginning."},
    "error_title": {"kk": "Қате", "ru": "Ошибка", "en": "Something went wrong"},
}


def text(key: str, language: str, **values: object) -> str:
    """The words ``key`` in ``language`` with ``values`` filled in."""
    words = TEXTS[key]
    chosen = words.get(language) or words["kk"]
    return chosen.format(**values) if values else chosen
