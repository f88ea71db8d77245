"""What the deployment files may name, from the code: the environment variables the processes
read (every pydantic-settings class of the three packages, and the few ``os.environ`` reads)
and the ``mhi`` commands that exist (the CLI's own parser and handler registry)."""

from __future__ import annotations

import argparse
import importlib
import re
from functools import cache
from pathlib import Path

from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from backend.cli import build_parser
from backend.cli.registry import COMMANDS

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("backend", "auth", "notifications")
_ENVIRON_READ = re.compile(
    r"""os\.(?:environ(?:\.get)?\s*[\[(]|getenv\s*\()\s*["']([A-Z][A-Z0-9_]*)["']""")


def _modules() -> list[tuple[str, str]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
                found.append((module.removesuffix(".__init__"), path.read_text()))
    return found


def settings_classes() -> list[type[BaseSettings]]:
    """Every ``BaseSettings`` subclass defined in the packages."""
    classes: list[type[BaseSettings]] = []
    for module_name, source in _modules():
        if "BaseSettings" not in source:
            continue
        module = importlib.import_module(module_name)
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, BaseSettings)
                    and value is not BaseSettings and value.__module__ == module_name):
                classes.append(value)
    return classes


@cache
def known_env_names() -> frozenset[str]:
    """Upper-case names the processes read (pydantic-settings ignores case by default)."""
    names: set[str] = set()
    for cls in settings_classes():
        prefix = str(cls.model_config.get("env_prefix", ""))
        for field_name, field in cls.model_fields.items():
            alias = field.validation_alias
            if isinstance(alias, AliasChoices):
                names.update(str(choice).upper() for choice in alias.choices)
            elif isinstance(alias, str):
                names.add(alias.upper())
            else:
                names.add(f"{prefix}{field_name}".upper())
    for _, source in _modules():
        names.update(_ENVIRON_READ.findall(source))
    return frozenset(names)


def mhi_command(argv: list[str]) -> str:
    """The ``mhi`` subcommand that ``argv`` (a container's command) runs; fails when it is not
    ``mhi`` or the CLI would refuse its arguments."""
    assert argv[0] == "mhi", f"{argv}: not an mhi entry point"
    try:
        args = build_parser().parse_args(argv[1:])
    except SystemExit as exit_:
        raise AssertionError(f"{argv}: `mhi` refuses these arguments") from exit_
    assert args.command in COMMANDS, f"{argv}: no handler for {args.command}"
    return _label(args)


def _label(args: argparse.Namespace) -> str:
    return f"{args.command} {args.action}" if args.command == "db" else str(args.command)
