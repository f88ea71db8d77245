"""Generated requests for the fuzz run: queries and mutations from the served schema
(hypothesis-graphql, valid and one-violation documents), then rewritten argument by argument.

hypothesis-graphql writes every argument inline.  Most clients send values in variables, and
variable coercion is a separate path in graphql-core (and was the one that failed), so each
argument is independently kept, replaced by a hostile literal, moved into a variable with a
value of its type (hostile leaves), moved into a variable with JSON of the wrong type, declared
but left without a value, declared with a type that does not fit, or declared nullable with a
default where the argument is non-null (which validation allows) and given null.  A few
requests also get a ``variables`` member that is not an object, or an ``operationName`` that
names nothing.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal, cast

import graphql
import strawberry
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis_graphql import Mode, mutations, nodes, queries

from backend.gql.matrix import permission_for, root_fields
from backend.gql.schema import build_schema
from tests.fuzz.kinds import KINDS
from tests.fuzz.request import FuzzRequest
from tests.fuzz.values import SCALAR_TEXTS, json_for, scalar_text, wrong_json

Operation = Literal["query", "mutation"]
CHOICES = ("keep", "keep", "literal", "variable", "variable", "wrong", "missing", "misdeclared",
           "defaulted")
"""How one argument is rewritten (``keep`` twice: the generated literal is a fine input too)."""
MISDECLARED = ("String", "String!", "Int", "Int!", "ID!", "[ID!]!", "Boolean", "Date",
               "DeviceInput", "Nope")
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")


@cache
def served() -> strawberry.Schema:
    """The schema the app serves, built from the code (``graphql/schema.graphql`` is its
    export, and a test keeps the two equal)."""
    return build_schema()


def schema() -> graphql.GraphQLSchema:
    """The served schema as graphql-core sees it."""
    return served()._schema


ROLES: dict[str, frozenset[str]] = {
    "Public": frozenset(KINDS),
    "SignedIn": frozenset(KINDS) - {"anonymous"},
    "CitizenOnly": frozenset({"citizen"}),
    "OwnNodesOnly": frozenset(KINDS),
    "StaffOnly": frozenset({"desk", "desk_window"}),
    "StaffWithConsent": frozenset({"desk", "desk_window"}),
    "IntegratorScope": frozenset({"integrator"}),
}
"""Which callers each permission class lets through (``docs/permissions.md``)."""


@cache
def allowed_fields(operation: Operation, kind: str) -> tuple[str, ...]:
    """The root fields of ``operation`` that ``kind`` may use (by their permission class)."""
    root = "Query" if operation == "query" else "Mutation"
    return tuple(name for type_name, name, field in root_fields(served())
                 if type_name == root
                 and kind in ROLES.get(type(permission_for(field)).__name__, frozenset(KINDS)))


def _scalar_nodes(name: str) -> st.SearchStrategy[graphql.ValueNode]:
    """Inline literals for a custom scalar: its texts, or a literal of another kind."""
    return st.one_of(scalar_text(name).map(nodes.String), st.integers().map(nodes.Int),
                     st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
                     st.booleans().map(nodes.Boolean))


@cache
def _documents(operation: Operation, mode: Mode, root_field: str
               ) -> st.SearchStrategy[graphql.DocumentNode]:
    custom = {name: _scalar_nodes(name) for name in SCALAR_TEXTS}
    make = queries if operation == "query" else mutations
    strategy: st.SearchStrategy[graphql.DocumentNode] = make(
        schema(), fields=[root_field], custom_scalars=custom, mode=mode,
        print_ast=lambda document: document)
    return strategy


def all_fields(operation: Operation) -> tuple[str, ...]:
    """The root fields of ``operation`` (each document selects one: smaller documents are
    generated, sent and shrunk faster, and a fault names its field)."""
    root = schema().query_type if operation == "query" else schema().mutation_type
    assert root is not None
    return tuple(root.fields)


@dataclass
class _Plan:
    """The rewriting of one document's arguments, drawn one decision at a time."""

    draw: st.DrawFn
    known: tuple[str, ...]
    definitions: list[graphql.VariableDefinitionNode] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)

    def argument(self, node: graphql.ArgumentNode, definition: graphql.GraphQLArgument | None
                 ) -> graphql.ArgumentNode:
        choice = self.draw(st.sampled_from(CHOICES))
        if definition is None or choice == "keep":
            return node
        type_ = definition.type
        if choice == "literal":
            value = self.draw(json_for(type_, self.known, long_lists=False))
            return dataclasses.replace(node, value=_literal(value, type_))
        name = f"v{len(self.definitions)}"
        declared = str(type_)
        default: graphql.ConstValueNode | None = None
        if choice == "misdeclared":
            declared = self.draw(st.sampled_from(MISDECLARED))
        if choice == "defaulted":
            # Nullable with a default: allowed where the argument is non-null, and then an
            # explicit null (or a value left out) must still be a typed refusal or work.
            declared = str(graphql.get_nullable_type(type_))
            default = cast(graphql.ConstValueNode, node.value)
            if self.draw(st.booleans()):
                self.variables[name] = self.draw(st.one_of(st.none(), json_for(type_, self.known)))
        elif choice == "variable":
            self.variables[name] = self.draw(st.one_of(
                json_for(type_, self.known), st.just(graphql.value_from_ast_untyped(node.value))))
        elif choice in ("wrong", "misdeclared"):
            self.variables[name] = self.draw(wrong_json(self.known))
        variable = graphql.VariableNode(name=graphql.NameNode(value=name))
        self.definitions.append(graphql.VariableDefinitionNode(
            variable=variable, type=graphql.parse_type(declared), default_value=default,
            directives=()))
        return dataclasses.replace(node, value=variable)

    def selections(self, selection_set: graphql.SelectionSetNode,
                   parent: graphql.GraphQLNamedType | None) -> graphql.SelectionSetNode:
        rewritten: list[graphql.SelectionNode] = []
        for selection in selection_set.selections:
            if isinstance(selection, graphql.InlineFragmentNode):
                condition = selection.type_condition
                inner = schema().get_type(condition.name.value) if condition else parent
                rewritten.append(dataclasses.replace(
                    selection, selection_set=self.selections(selection.selection_set, inner)))
            elif isinstance(selection, graphql.FieldNode):
                rewritten.append(self.field(selection, parent))
            else:
                rewritten.append(selection)
        return dataclasses.replace(selection_set, selections=tuple(rewritten))

    def field(self, node: graphql.FieldNode, parent: graphql.GraphQLNamedType | None
              ) -> graphql.FieldNode:
        fields = getattr(parent, "fields", {})
        definition = fields.get(node.name.value)
        if definition is None:
            return node
        arguments = tuple(self.argument(argument, definition.args.get(argument.name.value))
                          for argument in node.arguments or ())
        child = graphql.get_named_type(definition.type)
        if node.selection_set is None:
            return dataclasses.replace(node, arguments=arguments)
        return dataclasses.replace(node, arguments=arguments,
                                   selection_set=self.selections(node.selection_set, child))


def _literal(value: Any, type_: graphql.GraphQLInputType) -> graphql.ValueNode:
    """``value`` written inline (a string that names an enum value becomes that value)."""
    named = graphql.get_named_type(type_)
    inner = type_.of_type if isinstance(type_, graphql.GraphQLNonNull) else type_
    if value is None:
        return graphql.NullValueNode()
    if isinstance(value, bool):
        return nodes.Boolean(value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, float):
        return nodes.Float(value)
    if isinstance(value, list):
        item = inner.of_type if isinstance(inner, graphql.GraphQLList) else type_
        return nodes.List([_literal(each, item) for each in value])
    if isinstance(value, dict):
        fields = getattr(named, "fields", {})
        return nodes.Object([
            graphql.ObjectFieldNode(name=graphql.NameNode(value=key), value=_literal(
                each, fields[key].type if key in fields else type_))
            for key, each in value.items() if _NAME.fullmatch(key)])
    if isinstance(named, graphql.GraphQLEnumType) and _NAME.fullmatch(value):
        return nodes.Enum(value)
    return nodes.String(value)


@st.composite
def fuzz_requests(draw: st.DrawFn, operation: Operation, kind: str,
                  known: tuple[str, ...] = ()) -> FuzzRequest:
    """A generated request of ``operation`` for ``kind`` (three times in four a root field
    that ``kind`` may use), with arguments rewritten as the module says."""
    allowed = allowed_fields(operation, kind) or all_fields(operation)
    choices = allowed if draw(st.integers(0, 3)) else all_fields(operation)
    root_field = draw(st.sampled_from(choices))
    mode = draw(st.sampled_from((Mode.POSITIVE, Mode.POSITIVE, Mode.NEGATIVE)))
    try:
        document = draw(_documents(operation, mode, root_field))
    except InvalidArgument:  # no argument of this field can be made wrong
        document = draw(_documents(operation, Mode.POSITIVE, root_field))
    definition = document.definitions[0]
    assert isinstance(definition, graphql.OperationDefinitionNode)
    root = schema().get_root_type(definition.operation)
    plan = _Plan(draw, known)
    selection_set = plan.selections(definition.selection_set, root)
    rewritten = dataclasses.replace(definition, selection_set=selection_set,
                                    variable_definitions=tuple(plan.definitions))
    query = graphql.print_ast(dataclasses.replace(document, definitions=(rewritten,)))
    variables: Any = plan.variables
    has_variables = bool(plan.variables) or draw(st.booleans())
    shape = draw(st.sampled_from(("object",) * 8 + ("not an object", "operation name")))
    if shape == "not an object":
        variables = draw(wrong_json(known).filter(lambda value: not isinstance(value, dict)))
        has_variables = True
    operation_name = draw(st.text(max_size=8)) if shape == "operation name" else None
    return FuzzRequest(query, variables, operation_name, has_variables)
