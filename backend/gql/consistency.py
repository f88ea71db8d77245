"""Read-your-writes with a read replica: the one hook in the GraphQL execution.

A mutation reads and writes the primary only (its checks, its writes and the payload it reads
back); once it has run, the citizen's write is marked in this process and its consistency
token is sent in the ``X-Consistency-Token`` header, for the app to send back on its next
requests (``backend.db.replica`` explains both).  Added to the schema only when a replica is
configured (``with_read_your_writes``), so that without one nothing runs.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import TypeVar

from strawberry.extensions import SchemaExtension
from strawberry.schema.base import BaseSchema
from strawberry.types.graphql import OperationType

from backend.db.replica import TOKEN_HEADER, RoutedReads

log = logging.getLogger(__name__)
S = TypeVar("S", bound=BaseSchema)


class ReadYourWrites(SchemaExtension):
    """Pins a mutation to the primary; after it, marks the writer and answers their token."""

    async def on_execute(self) -> AsyncIterator[None]:
        """Around the operation (after parsing and validation, so its type is known)."""
        context = self.execution_context.context
        reads = getattr(context, "reads", None)
        routed = isinstance(reads, RoutedReads)
        mutation = routed and self.execution_context.operation_type is OperationType.MUTATION
        if mutation and isinstance(reads, RoutedReads):
            reads.pin_primary()
        yield
        if not mutation or not isinstance(reads, RoutedReads):
            return
        try:
            token = await reads.wrote()
        except Exception as error:  # the write stands; only the hint for later reads is lost
            log.warning("the writer's WAL position could not be read (%s)",
                        type(error).__name__)
            return
        response = getattr(context, "response", None)
        if response is not None:
            response.headers[TOKEN_HEADER] = token


def with_read_your_writes(schema: S) -> S:
    """``schema`` with ``ReadYourWrites`` last among its extensions."""
    extensions = tuple(getattr(schema, "extensions", ()))
    if ReadYourWrites not in extensions:
        schema.extensions = (*extensions, ReadYourWrites)  # type: ignore[attr-defined]
    return schema
