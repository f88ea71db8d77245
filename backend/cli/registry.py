"""The handlers of ``mhi``'s subcommands, registered by the modules that define them.

A command module marks each handler with ``@command("name")``; ``backend.cli`` imports the
command modules once (so that they register) and looks handlers up here by the subcommand's
name.  Nothing here imports a command module, and no command module imports ``backend.cli``
itself: the imports go one way (see ``tests/test_cli_imports.py``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

Handler = Callable[[argparse.Namespace], int | Coroutine[Any, Any, int]]
"""A subcommand: its parsed arguments in, an exit status out (directly or awaited)."""
_H = TypeVar("_H", bound=Handler)

COMMANDS: dict[str, Handler] = {}


def command(name: str) -> Callable[[_H], _H]:
    """Register the decorated function as the handler of ``mhi <name>``."""

    def register(handler: _H) -> _H:
        if name in COMMANDS:
            raise ValueError(f"mhi {name} is registered twice")
        COMMANDS[name] = handler
        return handler

    return register
