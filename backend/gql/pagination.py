"""Keyset pagination for Relay connections.

A cursor is the sort key of the last row a client saw (for example a month and a row id),
JSON-encoded and base64url-wrapped so that clients treat it as opaque.  Pages are read with
``(key) < (cursor)`` on an index in the same order, so page 1,000 costs what page 1 costs.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import strawberry

from backend.db.reads import Fetcher
from backend.errors import BadUserInput
from backend.gql.nodes import INT64_MAX
from backend.messages import message

if TYPE_CHECKING:
    from backend.gql.context import Context

DEFAULT_PAGE = 20
MAX_PAGE = 100

Row = TypeVar("Row")
NodeT = TypeVar("NodeT")


# Cursors are encoded when a client asks for them, not for every row of every page: the home
# screen shows six rows and asks for none.


@strawberry.type(description="Where a page sits in its list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether more items follow this page.")
    has_previous_page: bool = strawberry.field(
        description="Whether this page was asked for after a cursor.")
    first: strawberry.Private[Edge[Any] | None]
    last: strawberry.Private[Edge[Any] | None]

    @strawberry.field(description="Cursor of the first item.")
    def start_cursor(self) -> str | None:
        return None if self.first is None else self.first.cursor_text()

    @strawberry.field(description="Cursor of the last item: pass it as `after` for the next "
                                  "page.")
    def end_cursor(self) -> str | None:
        return None if self.last is None else self.last.cursor_text()


def _cursor(root: Edge[Any]) -> str:
    return root.cursor_text()


@strawberry.type(description="An item of a list, with its cursor.")
class Edge(Generic[NodeT]):
    kind: strawberry.Private[str]
    key: strawberry.Private[Sequence[Any]]
    cursor: str = strawberry.field(resolver=_cursor, description="Opaque position of this item.")
    node: NodeT = strawberry.field(description="The item.")

    def cursor_text(self) -> str:
        """This item's cursor."""
        return encode_cursor(self.kind, self.key)


@strawberry.type(description="A page of a list (Relay connection, keyset cursors).")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]] = strawberry.field(description="The items of this page.")
    page_info: PageInfo = strawberry.field(description="Where the page sits in the list.")


def page_size(first: int | None) -> int:
    """``first`` checked against the limits (default 20, at most 100)."""
    if first is None:
        return DEFAULT_PAGE
    if not 1 <= first <= MAX_PAGE:
        raise BadUserInput(message("page_size", max=MAX_PAGE))
    return first


def encode_cursor(kind: str, key: Sequence[Any]) -> str:
    """An opaque cursor for a sort key of JSON-friendly values."""
    raw = json.dumps([kind, *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


MAX_CURSOR = 512
"""The longest cursor we make is far shorter; a longer one is not ours."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)  # Infinity, -Infinity, NaN: JSON's extensions, never ours


def _key_part(value: object, expected: type | None) -> bool:
    """Whether one part of a sort key is one we could have written: an int that fits a
    BIGINT or a short ASCII string, of the ``expected`` type when one is given."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -INT64_MAX - 1 <= value <= INT64_MAX and expected in (None, int)
    if isinstance(value, str):
        return value.isascii() and value.isprintable() and expected in (None, str)
    return False


def decode_cursor(kind: str, cursor: str | None, arity: int,
                  types: tuple[type, ...] | None = None) -> list[Any] | None:
    """The sort key inside ``cursor`` (None for no cursor); ``BAD_USER_INPUT`` if foreign.

    Each part is an int within int64 or an ASCII string (of ``types``, when given, part by
    part): a forged cursor must fail here, not as ``int(inf)`` or in the database."""
    if cursor is None:
        return None
    try:
        if len(cursor) > MAX_CURSOR:
            raise ValueError(len(cursor))
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()),
                           parse_constant=_refuse_constant)
    except (binascii.Error, ValueError, UnicodeError):
        value = None
    if (not isinstance(value, list) or len(value) != arity + 1 or value[0] != kind
            or not all(_key_part(part, None if types is None else types[index])
                       for index, part in enumerate(value[1:]))):
        raise BadUserInput(message("bad_cursor"))
    return value[1:]


def build_connection(
    rows: Sequence[Row],
    size: int,
    *,
    kind: str,
    key: Callable[[Row], Sequence[Any]],
    nodes: Sequence[NodeT],
    has_previous: bool,
) -> Connection[NodeT]:
    """A connection from up to ``size + 1`` rows (the extra row only says a next page exists)
    and the nodes of the first ``size`` of them."""
    page = rows[:size]
    edges = [Edge(kind=kind, key=key(row), node=node)
             for row, node in zip(page, nodes, strict=True)]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > size,
            has_previous_page=has_previous,
            first=edges[0] if edges else None,
            last=edges[-1] if edges else None,
        ),
    )


DatedRow = TypeVar("DatedRow")


async def dated_connection(
    context: Context,
    *,
    kind: str,
    first: int | None,
    after: str | None,
    fetch: Callable[[Fetcher, int, tuple[date, int] | None], Awaitable[Sequence[DatedRow]]],
    key: Callable[[DatedRow], tuple[date, int]],
    nodes: Callable[[Sequence[DatedRow]], Awaitable[Sequence[NodeT]]],
    parse_key: Callable[[str], date] = date.fromisoformat,
) -> Connection[NodeT]:
    """A page of rows sorted by (date, id) descending: check ``first``, decode ``after``, fetch
    one row more than the page (on a pooled connection of its own), build its ``nodes``.

    ``parse_key`` reads the cursor's first part (``datetime.fromisoformat`` for instants)."""
    size = page_size(first)
    cursor = _dated_key(kind, after, parse_key)
    rows = await fetch(context.reads, size + 1, cursor)
    return build_connection(
        rows, size, kind=kind, has_previous=cursor is not None, nodes=await nodes(rows[:size]),
        key=lambda row: (key(row)[0].isoformat(), key(row)[1]))


def _dated_key(kind: str, cursor: str | None,
               parse_key: Callable[[str], date]) -> tuple[date, int] | None:
    key = decode_cursor(kind, cursor, 2, (str, int))
    if key is None:
        return None
    try:
        return parse_key(key[0]), key[1]
    except ValueError:
        raise BadUserInput(message("bad_cursor")) from None
