"""Every ``extensions.code`` the code can answer with is in the error catalogue
(``backend/error_codes.py``, published as ``docs/errors.md``): a client can look up any code it
sees, and a code added without an entry fails here."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

from auth.errors import AuthError
from backend.error_codes import CATALOGUE
from backend.errors import AppError

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("backend", "auth", "notifications")
LITERALS = (
    re.compile(r'"code":\s*"([A-Z][A-Z_]+)"'),            # {"code": "X"} in an answer
    re.compile(r'\["code"\]\s*=\s*"([A-Z][A-Z_]+)"'),     # extensions["code"] = "X"
    re.compile(r'^\s+code = "([A-Z][A-Z_]+)"$', re.M),     # class attribute of an error
    re.compile(r'(?:problem|send_problem)\([^)]*?"([A-Z][A-Z_]+)"', re.S),  # typed answers
    re.compile(r'_error\(\d{3}, "([A-Z][A-Z_]+)"'),       # /ingest answers
)


def _subclasses(base: type[Exception]) -> set[type[Exception]]:
    found: set[type[Exception]] = set(base.__subclasses__())
    for child in list(found):
        found |= _subclasses(child)
    return found


def test_every_error_class_has_a_catalogued_code() -> None:
    for package in PACKAGES:
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, f"{package}."):
            if ".migrations" not in info.name and not info.name.endswith("__main__"):
                importlib.import_module(info.name)
    classes = _subclasses(AppError) | _subclasses(AuthError) | {AppError, AuthError}
    codes = {f"{cls.__module__}.{cls.__qualname__}": str(getattr(cls, "code", ""))
             for cls in classes if not cls.__module__.startswith("tests.")}
    missing = {name: code for name, code in codes.items() if code not in CATALOGUE}
    assert missing == {}


def test_every_code_written_in_the_source_is_catalogued() -> None:
    written: dict[str, str] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            for pattern in LITERALS:
                for code in pattern.findall(source):
                    written.setdefault(code, str(path.relative_to(ROOT)))
    assert {"INTERNAL", "BAD_REQUEST", "BAD_USER_INPUT"} <= set(written), \
        "the scan finds the codes it is meant to find"
    missing = {code: where for code, where in written.items() if code not in CATALOGUE}
    assert missing == {}
