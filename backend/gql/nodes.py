"""Global ids and the ``Node`` interface (Relay's object identification).

A global id is base64 of ``Type:key``, computed when an object is built, so ``id`` is a plain
field (Strawberry's relay ``id`` is a resolver, called for every object on every screen).
``Query.node`` decodes the id and asks the type's ``resolve_nodes`` for it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import strawberry

from backend.errors import BadUserInput
from backend.messages import message


@strawberry.interface(name="Node", description="An object with a global id, which "
                                                "`node(id:)` turns back into the object.")
class Node:
    id: strawberry.ID = strawberry.field(
        description="Global id: opaque, stable, the same on every request.")


def global_id(type_name: str, key: object) -> strawberry.ID:
    """The global id of the ``type_name`` object with ``key``."""
    return strawberry.ID(base64.b64encode(f"{type_name}:{key}".encode()).decode())


def parse_global_id(value: str) -> tuple[str, str]:
    """``(type name, key)`` of a global id; ``BAD_USER_INPUT`` when it is not one."""
    try:
        type_name, separator, key = base64.b64decode(value, validate=True).decode().partition(
            ":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        separator = ""
    if not separator or not type_name or not key:
        raise BadUserInput(message("invalid_id"))
    return type_name, key


NodeLoader = Callable[[Any, Iterable[str]], Awaitable[list[Any]]]
"""``resolve_nodes(info, keys)``: the objects for ``keys`` (None where absent or not yours)."""
