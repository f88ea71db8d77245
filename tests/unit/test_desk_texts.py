"""Every word of the desk console exists in Kazakh, Russian and English with the same blanks;
every key the pages ask for exists, including the keys they build from a value (a device's
delivery state, why it gets no pushes, an onboarding step, a staff change, a role); and the
GraphQL operations behind the pages are valid against the schema."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from graphql import GraphQLSchema, OperationDefinitionNode, parse, validate
from graphql import build_schema as build_sdl_schema

from auth import staff_admin
from auth.staff import OnboardingStage
from backend.desk import operations
from backend.desk.texts import LANGUAGE_NAMES, TEXTS, text
from backend.gql.limits import Limits
from backend.gql.schema import build_schema
from notifications import checks
from notifications.models import CATEGORIES, DELIVERY_STATES

ROOT = Path(__file__).resolve().parents[2]
DESK = ROOT / "backend" / "desk"
TEMPLATES = sorted((DESK / "templates").glob("*.html"))
LANGUAGES = ("kk", "ru", "en")

# t("key"), t('key', ...), pt("key"): a literal key; t("prefix_" ~ value): a built one.
CALL = re.compile(r"""\b(?:p?t)\(\s*(["'])([^"']*)\1\s*([,)~])""")
# text("key", language ...) in the console's own code.
CONSOLE_CALL = re.compile(r"""\btext\(\s*"([^"]+)"\s*,""")
BUILT_PREFIXES = {"off_", "state_", "step_", "audit_", "role_", "cat_"}


def fields(words: str) -> set[str]:
    """The ``{names}`` a sentence leaves to be filled."""
    return {name for _, name, _, _ in string.Formatter().parse(words) if name is not None}


def template_calls() -> list[tuple[str, str, str]]:
    """(template, key or prefix, what follows it) for every ``t``/``pt`` call in the pages."""
    return [(path.name, match.group(2), match.group(3))
            for path in TEMPLATES
            for match in CALL.finditer(path.read_text(encoding="utf-8"))]


def source(path: str) -> str:
    return (ROOT / path).read_text(encoding="utf-8")


def retired_reasons() -> set[str]:
    """Every ``retired_reason`` the code writes: the reasons ``notifications.devices`` retires
    with, and the FCM answers that retire a device (``notifications.gateway``)."""
    devices = source("notifications/devices.py")
    gateway = source("notifications/gateway.py")
    found = set(re.findall(r"retired_reason = '([A-Z_]+)'", devices))
    found |= set(re.findall(r'_retire\([^;]*?"([A-Z][A-Z_]+)"\)', devices, re.S))
    found |= set(re.findall(r'Outcome\(Verdict\.RETIRE, error="([A-Z_]+)"\)', gateway))
    return found


def staff_audit_actions() -> set[str]:
    """The actions ``auth.staff_audit`` may hold (its check constraint)."""
    migration = source("backend/migrations/versions/0008_desk_console.py")
    constraint = re.search(r'CheckConstraint\(((?:\s*"[^"]*")+),\s*name="ck_staff_audit_action"',
                           migration)
    assert constraint is not None
    condition = "".join(re.findall(r'"([^"]*)"', constraint.group(1)))
    assert condition.startswith("action IN (")
    return set(re.findall(r"'([a-z_]+)'", condition))


class TestTheTable:
    def test_there_is_a_table_and_three_languages(self) -> None:
        assert len(TEXTS) > 100
        assert tuple(LANGUAGE_NAMES) == LANGUAGES

    @pytest.mark.parametrize("key", sorted(TEXTS))
    def test_every_key_in_three_languages_with_the_same_blanks(self, key: str) -> None:
        words = TEXTS[key]
        assert set(words) == set(LANGUAGES), key
        for language in LANGUAGES:
            assert words[language].strip(), (key, language)
            assert words[language] == words[language].strip(), (key, language)
        blanks = {language: fields(words[language]) for language in LANGUAGES}
        assert blanks["kk"] == blanks["ru"] == blanks["en"], (key, blanks)
        filled = text(key, "en", **dict.fromkeys(blanks["en"], "X"))
        assert "{" not in filled and "}" not in filled

    def test_the_languages_differ_where_words_do(self) -> None:
        same = [key for key, words in TEXTS.items()
                if words["kk"] == words["ru"] == words["en"] and re.search(r"[A-Za-z]{4}",
                                                                           words["en"])]
        assert same == ["audit_line"], same  # a pattern of blanks only

    def test_an_unknown_language_reads_kazakh(self) -> None:
        assert text("sign_in", "de") == TEXTS["sign_in"]["kk"]


class TestTheTemplates:
    def test_the_templates_are_found_and_call_t(self) -> None:
        assert {path.name for path in TEMPLATES} >= {"base.html", "home.html", "patient.html",
                                                     "staff.html", "handout.html"}
        assert len(template_calls()) > 80

    def test_every_literal_key_exists(self) -> None:
        missing = sorted({(name, key) for name, key, after in template_calls()
                          if after != "~" and key not in TEXTS})
        assert missing == []

    def test_keys_are_built_only_from_the_known_prefixes(self) -> None:
        built = {key for _, key, after in template_calls() if after == "~"}
        assert built == BUILT_PREFIXES

    def test_every_key_the_console_asks_for_exists(self) -> None:
        console = source("backend/desk/console.py")
        asked = set(CONSOLE_CALL.findall(console))
        assert {"rate_limited", "csrf_title", "error_title"} <= asked
        # The sign-in page's notice is a key chosen in the console: t(notice).
        notices = set(re.findall(r'"(\w+)" if "\w+" in query', console))
        assert notices == {"session_ended", "signed_out", "password_saved"}
        # A refusal of set-password picks one of two keys.
        assert 'key = "PASSWORD_WEAK" if' in console
        assert sorted((asked | notices | {"PASSWORD_WEAK", "SETUP_WRONG_CODE"}) - set(TEXTS)) \
            == []

    def test_a_staff_refusal_has_words_for_every_reason_an_administrator_meets(self) -> None:
        reasons = set(re.findall(r'Refused\(\s*"([A-Z_]+)"', source("auth/staff_admin.py")))
        assert reasons >= {"USERNAME_INVALID", "USERNAME_TAKEN", "NAME_REQUIRED",
                           "NOT_YOURSELF", "NOT_FOUND", "FORBIDDEN", "PASSWORD_WEAK"}
        assert sorted(reasons - {"WRONG_CODE"} - set(TEXTS)) == []
        assert "SETUP_WRONG_CODE" in TEXTS  # WRONG_CODE's words on the set-password page


class TestBuiltKeys:
    def test_every_delivery_state(self) -> None:
        assert {"pending", "sent", "rejected"} <= set(DELIVERY_STATES)
        missing = [state for state in DELIVERY_STATES if f"state_{state}" not in TEXTS]
        assert missing == []
        assert {"state_none", "state_held"} <= set(TEXTS)

    def test_every_reason_a_phone_gets_no_pushes(self) -> None:
        reasons = retired_reasons() | {checks.NOT_SEEN_RECENTLY, checks.REGISTERED_AFTER_CHECK}
        assert {"MOVED", "SIGNED_OUT", "UNREGISTERED_BY_USER", "UNREGISTERED",
                "SENDER_ID_MISMATCH", "INVALID_TOKEN"} <= reasons, reasons
        missing = sorted(reason for reason in reasons if f"off_{reason}" not in TEXTS)
        assert missing == []

    def test_every_onboarding_step_the_page_lists(self) -> None:
        page = (DESK / "templates" / "onboarding_steps.html").read_text(encoding="utf-8")
        order = re.search(r"set order = \[([^\]]*)\]", page)
        assert order is not None
        listed = re.findall(r'"([A-Z_]+)"', order.group(1))
        stages = {stage.name for stage in OnboardingStage}
        assert set(listed) <= stages
        # Every stage is a step of the list, except the expired code, said on its own.
        assert stages - set(listed) == {"CODE_EXPIRED"}
        assert [OnboardingStage[name] for name in listed] == [
            stage for stage in OnboardingStage if stage.name in listed], "in the stages' order"
        missing = [name for name in listed if f"step_{name.lower()}" not in TEXTS]
        assert missing == []
        assert "code_expired" in TEXTS

    def test_every_staff_change(self) -> None:
        actions = staff_audit_actions()
        assert actions == {"created", "deactivated", "reactivated", "password_code_issued",
                           "password_set"}
        written = set(re.findall(r'audit\(conn, [^,]+, [^,]+, "([a-z_]+)"',
                                 source("auth/staff.py")))
        written |= set(re.findall(r'audit\(conn, [^,]+, [^,]+, "([a-z_]+)"',
                                  source("auth/staff_admin.py")))
        written |= set(re.findall(r'_set_active\(admin, staff_id, (?:True|False), "([a-z_]+)"',
                                  source("auth/staff_admin.py")))
        assert written <= actions, written - actions
        missing = sorted(action for action in actions if f"audit_{action}" not in TEXTS)
        assert missing == []

    def test_every_notification_category(self) -> None:
        missing = [category for category in CATEGORIES
                   if f"cat_{category.upper()}" not in TEXTS]
        assert missing == []

    def test_every_role(self) -> None:
        assert set(staff_admin.ROLES) == {"worker", "admin"}
        missing = [role for role in staff_admin.ROLES if f"role_{role}" not in TEXTS]
        assert missing == []


SCHEMA: GraphQLSchema = build_sdl_schema(build_schema().as_str())


class TestOperations:
    def test_all_lists_every_operation_of_the_module(self) -> None:
        defined = {value for name, value in vars(operations).items()
                   if name.isupper() and isinstance(value, str) and name != "ALL"
                   and not name.startswith("_")}
        assert set(operations.ALL) == defined
        assert len(operations.ALL) == len(set(operations.ALL))

    @pytest.mark.parametrize("document", operations.ALL,
                             ids=lambda document: document.split("(")[0].split()[1])
    def test_each_is_valid_against_the_schema(self, document: str) -> None:
        parsed = parse(document, max_tokens=Limits().max_tokens)
        assert validate(SCHEMA, parsed) == []
        [definition] = parsed.definitions
        assert isinstance(definition, OperationDefinitionNode)
        assert definition.name is not None and definition.name.value.startswith("Desk")

    def test_the_exported_schema_is_the_one_checked(self) -> None:
        exported = build_sdl_schema((ROOT / "graphql" / "schema.graphql").read_text(
            encoding="utf-8"))
        for document in operations.ALL:
            assert validate(exported, parse(document)) == []
