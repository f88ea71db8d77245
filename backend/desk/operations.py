"""The GraphQL operations behind the console's pages, run in process as the signed-in worker
(a test validates each against the schema)."""

from __future__ import annotations

from typing import Final

_ERRORS = "userErrors { code field message attemptsLeft }"
_PATIENT = "patient { firstName lastName maskedIin }"

OPEN_WINDOWS: Final = f"query DeskHome {{ patientWindows {{ id expiresAt {_PATIENT} }} }}"
OPEN_BY_CODE: Final = f"""mutation DeskOpenByCode($code: String!) {{
  openPatientWindow(consentCode: $code) {{ window {{ id }} {_ERRORS} }} }}"""
SEND_CONSENT_SMS: Final = f"""mutation DeskSendConsentSms($iin: String!) {{
  sendConsentSms(iin: $iin) {{ challengeId expiresAt maskedPhone {_ERRORS} }} }}"""
OPEN_BY_SMS: Final = f"""mutation DeskOpenBySms($challengeId: ID!, $code: String!) {{
  openPatientWindowBySms(challengeId: $challengeId, code: $code) {{
    window {{ id }} {_ERRORS} }} }}"""
WINDOW: Final = """query DeskPatient($id: ID!) { patientWindow(id: $id) {
  id openedAt expiresAt
  patient { firstName lastName maskedIin
    insurance { status statusName reason guaranteedUntil }
    pushDevices { platform appVersion lastSeenAt pushOn pushOffReason }
    pushChoices { switchedOff quietHours { starts ends } }
    signedInDevices { deviceName platform signedInBy signedInAt } } } }"""
MAKE_ONBOARDING: Final = f"""mutation DeskOnboardingCode($id: ID!) {{
  createOnboardingCode(windowId: $id) {{ onboardingCode {{ code qrText expiresAt }}
    {_ERRORS} }} }}"""
ONBOARDING: Final = f"""query DeskOnboarding($id: ID!) {{ patientWindow(id: $id) {{
  id expiresAt {_PATIENT}
  onboarding {{ step codeExpiresAt scannedAt signedInAt deviceName }} }} }}"""
CHECK: Final = """mutation DeskCheck($id: ID!) {
  checkNotifications(windowId: $id) { check { id } } }"""
CHECK_STATE: Final = f"""query DeskCheckState($id: ID!, $check: ID!) {{ patientWindow(id: $id) {{
  id expiresAt {_PATIENT}
  notificationCheck(id: $check) {{ id sentAt dispatched finished
    devices {{ platform appVersion lastSeenAt state heldUntil heldFor notReached }} }} }} }}"""

ALL: Final = (OPEN_WINDOWS, OPEN_BY_CODE, SEND_CONSENT_SMS, OPEN_BY_SMS, WINDOW,
              MAKE_ONBOARDING, ONBOARDING, CHECK, CHECK_STATE)
