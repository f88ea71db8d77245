"""Global ids and the ``Node`` interface (Relay's object identification).

A global id is base64 of ``Type:key``, computed when an object is built, so ``id`` is a plain
field (Strawberry's relay ``id`` is a resolver, called for every object on every screen).
``Query.node`` decodes the id and asks the type's ``resolve_nodes`` for it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import strawberry

from backend.errors import BadUserInput
from backend.messages import message

ID_LENGTH = 128
"""The longest global id we make (and so the longest a client may send)."""
INT64_MAX = 2**63 - 1
_TYPE_NAME = re.compile(r"[A-Za-z]{1,40}")
_KEY = re.compile(r"[A-Za-z0-9._/-]{1,100}")


@strawberry.interface(name="Node", description="An object with a global id, which "
                                                "`node(id:)` turns back into the object.")
class Node:
    id: strawberry.ID = strawberry.field(
        description="Global id: opaque, stable, the same on every request.")


def global_id(type_name: str, key: object) -> strawberry.ID:
    """The global id of the ``type_name`` object with ``key``."""
    return strawberry.ID(base64.b64encode(f"{type_name}:{key}".encode()).decode())


def parse_global_id(value: str) -> tuple[str, str]:
    """``(type name, key)`` of a global id; ``BAD_USER_INPUT`` when it is not one.

    A key is plain ASCII (an integer, a UUID, a slug) and an all-digit key fits a BIGINT, so
    that ``key.isdigit()`` and ``int(key)`` downstream are safe: ``str.isdigit`` also says yes
    to ``²``, which ``int`` refuses, and a key beyond int64 failed in the database."""
    type_name = key = ""
    with contextlib.suppress(binascii.Error, UnicodeDecodeError, ValueError):
        if len(value) <= ID_LENGTH:
            type_name, _, key = base64.b64decode(value, validate=True).decode().partition(":")
    if (not _TYPE_NAME.fullmatch(type_name) or not _KEY.fullmatch(key)
            or (key.isdigit() and int(key) > INT64_MAX)):
        raise BadUserInput(message("invalid_id"))
    return type_name, key


NodeLoader = Callable[[Any, Iterable[str]], Awaitable[list[Any]]]
"""``resolve_nodes(info, keys)``: the objects for ``keys`` (None where absent or not yours)."""
