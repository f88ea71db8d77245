"""Variable-coercion errors: a client's variable that does not fit its declared type.

graphql-core 3.3 reports each such mistake (a required variable missing, null for a non-null
type, a wrong type, an unknown enum value, an Int beyond 32 bits, a scalar that refuses the
value, as ``Time`` does ``25:00:00``) as a ``GraphQLError`` located at the operation's
``VariableDefinitionNode``, with no ``path`` (nothing was executed), whose ``original_error``
is graphql-core's inner error (which may wrap the scalar's own exception).  That location is
the structural signal used here; the English text is never read.  Its text quotes the value
(an IIN sent as a number, say), so the client gets ``describe``'s words instead, and nothing
is logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLInputType,
    GraphQLSchema,
    Undefined,
    VariableDefinitionNode,
    VariableNode,
    is_input_object_type,
    is_input_type,
    is_list_type,
    is_non_null_type,
    print_ast,
)
from graphql.utilities import type_from_ast
from graphql.utilities.validate_input_value import validate_input_value

from backend.i18n import Texts
from backend.messages import message


def variable_of(error: GraphQLError) -> VariableDefinitionNode | None:
    """The variable definition a coercion error is about; None for any other error."""
    if error.path is not None:
        return None
    for node in error.nodes or ():
        if isinstance(node, VariableDefinitionNode):
            return node
    return None


def null_argument_of(error: GraphQLError) -> str | None:
    """The variable whose explicit null graphql-core refused for a non-null argument while
    executing; None for any other error.

    Validation allows a nullable variable in a non-null argument when the variable or the
    argument has a default (the spec's "allowed position" rule), so ``{"s": null}`` for
    ``$s: String = "x"`` reaches execution, where graphql-core raises its own ``GraphQLError``
    located at the ``VariableNode``: wrapped with the field's path, with no cause of its own.
    """
    inner = error.original_error
    if not isinstance(inner, GraphQLError) or inner.original_error is not None:
        return None
    for node in inner.nodes or ():
        if isinstance(node, VariableNode):
            return node.name.value
    return None


@dataclass(frozen=True)
class Problem:
    """Where a variable's value went wrong, in the client's own terms."""

    field: str
    """``$name`` and the path inside its value, e.g. ``$announcement.title``."""
    expected: str
    """The GraphQL type expected there, e.g. ``String!``."""
    missing: bool
    """Nothing (or null) was given where something is needed."""

    def texts(self) -> Texts:
        """The message in every language (never the value itself)."""
        key = "variable_missing" if self.missing else "variable_invalid"
        return message(key, field=self.field, type=self.expected)


class Problems:
    """Describes the coercion errors of one request, in their order.

    graphql-core reports a variable's problems in the order ``validate_input_value`` finds
    them; running it again on the same value (only when something went wrong) yields the
    same problems in the same order, now with their paths inside the value.
    """

    def __init__(self, schema: GraphQLSchema, variables: Mapping[str, Any] | None) -> None:
        self._schema = schema
        self._variables = variables if isinstance(variables, Mapping) else {}
        self._pending: dict[str, list[Problem]] = {}

    def null_for(self, name: str, declared: VariableDefinitionNode | None) -> Problem:
        """The problem of ``$name``'s null where a non-null argument needed a value."""
        expected = print_ast(declared.type) if declared is not None else "?"
        return Problem(f"${name}", expected.rstrip("!") + "!", True)

    def describe(self, node: VariableDefinitionNode) -> Problem:
        """The next problem of the variable ``node`` defines."""
        name = node.variable.name.value
        if name not in self._pending:
            self._pending[name] = self._find(node)
        pending = self._pending[name]
        if pending:
            return pending.pop(0)
        value = self._variables.get(name)
        return Problem(f"${name}", print_ast(node.type), value is None)

    def _find(self, node: VariableDefinitionNode) -> list[Problem]:
        name = node.variable.name.value
        type_ = type_from_ast(self._schema, node.type)
        if not is_input_type(type_):
            return []
        value = self._variables.get(name, Undefined)
        found: list[Problem] = []

        def on_error(_error: GraphQLError, path: list[str | int]) -> None:
            inner_type, inner = _at(type_, value, path)
            found.append(Problem(
                ".".join([f"${name}", *map(str, path)]), str(inner_type),
                inner is None or inner is Undefined))

        validate_input_value(value, type_, on_error, hide_suggestions=True)
        return found


def _at(type_: GraphQLInputType, value: Any, path: list[str | int]
        ) -> tuple[GraphQLInputType, Any]:
    """The type and the value at ``path`` inside ``value``."""
    for step in path:
        bare = type_.of_type if is_non_null_type(type_) else type_
        if is_list_type(bare) and isinstance(step, int):
            type_ = bare.of_type
            value = value[step] if isinstance(value, list) and step < len(value) else Undefined
        elif is_input_object_type(bare) and isinstance(step, str) and step in bare.fields:
            type_ = bare.fields[step].type
            value = value.get(step, Undefined) if isinstance(value, dict) else Undefined
        else:
            break
    return type_, value
