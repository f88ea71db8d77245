"""A fast path for the app's persisted operations: plans compiled once per document, resolvers
called directly, graphql-core's generic executor and Strawberry's per-request extension work
skipped.

Production accepts from the app only the manifest's operations (``backend.gql.persisted``), so
everything that does not depend on the request is known in advance: the parsed and validated
document, the operation, and for each selection set the fields to answer, in order, with their
definitions, their resolvers and their constant arguments.  ``FastPath.plan_for`` compiles that
plan the first time a document is asked for (a ``Plan``); ``Plan.run`` then executes it with
direct calls: a field without a resolver is an attribute read (``operator.attrgetter``; a
string or boolean copied as it is, an enum member named from a table), a field with one calls
the Python resolver function itself, doing what Strawberry's wrapper would (its arguments
converted once per plan where they are constants, ``self`` and ``info`` passed, the field's
permission classes checked) wherever the wrapper would do nothing more, else the wrapper
(``Plan._direct``); paths and resolve infos are built only for fields that call a resolver,
and sibling awaitables are gathered as graphql-core gathers them, so DataLoader batches the
same loads together.

**Same answer, or the generic path.**  The fast path answers only what it answers exactly as
the generic path would: a signed-in citizen's query named by a manifest hash (or sent with a
manifest text), whose variables coerce, whose strings are clean and whose cost is within the
citizen's cap.  Everything else goes the generic way (``None`` from ``plan_for`` or ``admit``):
mutations, anonymous callers (paced per process), staff and integrators (budgets, consent
windows), documents that are not the app's, introspection, directives.  And whenever running
the plan meets anything but a clean answer (a resolver raises: NOT_FOUND for a stranger's id,
FORBIDDEN, a fault; a null where the schema promises a value; a value that does not serialize)
it gives up (``Bail``) after letting the work already started settle, and the caller runs the
same request through the generic path, which produces the error with its code, message, path
and language exactly as before.  ``tests/api/test_fastpath_equality.py`` is the oracle: every
manifest operation, for the demo's cast and a sample of demo people, through both paths, the
bodies compared byte for byte.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from operator import attrgetter
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLAbstractType,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    Undefined,
    get_argument_values,
    get_variable_values,
    specified_rules,
    visit,
)
from graphql.execution.values import VariableValues
from graphql.language import DirectiveNode, Visitor
from graphql.pyutils import Path
from graphql.type.definition import GraphQLResolveInfoHelpers
from graphql.type.scalars import serialize_boolean, serialize_id, serialize_string
from graphql.utilities import get_operation_ast
from strawberry.execution import optimized_is_awaitable
from strawberry.extensions import FieldExtension, MaxAliasesLimiter, QueryDepthLimiter
from strawberry.permission import PermissionExtension
from strawberry.schema.schema import validate_document
from strawberry.schema.schema_converter import CustomGraphQLEnumType, GraphQLCoreConverter
from strawberry.types.arguments import convert_arguments
from strawberry.types.field import StrawberryField

from auth.principals import Citizen
from backend.gql.cost import CostModel
from backend.gql.limits import Limits, Policy
from backend.gql.persisted import PersistedOperation, PersistedQueryNotFound
from backend.gql.strings import CleanStringLiterals, _forbidden_at, _may_hold_forbidden

log = logging.getLogger(__name__)


class Bail(Exception):
    """The plan cannot give the generic path's answer: run the generic path instead."""


Completer = Callable[[Any, "Path | None", "_Run"], Any]
"""Completes a resolved value (graphql-core's ``complete_value``, specialised): the value,
the field's path (None where nothing below needs it) and the run."""


class _Never:
    """A type no value has: the ``same`` of a field whose values always need completing."""


@dataclass
class _Shape:
    """What a completer may do: return an awaitable (a resolver below it), need the path
    (a resolver or an abstract type below it)."""

    waits: bool
    pathed: bool


@dataclass
class _Field:
    """One response key of a selection: what to call and how to complete its value."""

    key: str
    name: str
    definition: GraphQLField | None
    nodes: list[FieldNode]
    get: Callable[[Any], Any] | None
    """Read the value (a field without a resolver: ``operator.attrgetter``); else ``call``."""
    call: Callable[[Any, Path, _Run], Any] | None
    """Call the resolver (with the field's path); None for ``__typename``."""
    complete: Completer
    shape: _Shape
    same: type = _Never
    """A leaf whose completion of a value of exactly this type is the value itself."""
    enum: type = _Never
    names: Mapping[Any, str] | None = None
    """An enum leaf: the GraphQL name of each member of ``enum`` (the Python enum)."""


@dataclass
class _Selection:
    """The fields one object type answers for one (merged) selection, in response order."""

    type_: GraphQLObjectType
    fields: list[_Field] = field(default_factory=list)
    shape: _Shape = field(default_factory=lambda: _Shape(True, True))
    """Until its fields are known (never, for a selection inside itself): assume the worst."""


@dataclass
class _Run:
    """What one request's execution of a plan shares: context, variables, the operation."""

    plan: Plan
    context: Any
    variables: VariableValues
    info_helpers: GraphQLResolveInfoHelpers


def _no_directives(document: DocumentNode) -> bool:
    """Whether the document uses no directive (``@skip``/``@include`` would make the fields
    depend on variables; the manifest uses none)."""
    found: list[bool] = []

    class Finder(Visitor):
        def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
            found.append(True)

    visit(document, Finder())
    return not found


_STRAWBERRY_WRAPPERS = {
    "GraphQLCoreConverter.from_resolver.<locals>._async_resolver": True,
    "GraphQLCoreConverter.from_resolver.<locals>._resolver": False,
}
"""Strawberry's resolver wrappers (by qualified name; whether the field is async): what a
direct call replaces, and only these."""
_IMMUTABLE = (type(None), int, str, bool, float, Enum)
_SAME: dict[Callable[[Any], Any], type] = {
    serialize_string: str, serialize_id: str, serialize_boolean: bool}
"""graphql-core's output coercions that return a value of exactly this type unchanged."""


class Plan:
    """The compiled plan of one operation of one persisted document."""

    def __init__(self, schema: GraphQLSchema, operation: PersistedOperation,
                 definition: OperationDefinitionNode) -> None:
        self.schema = schema
        self.text = operation.text
        self.document = operation.document
        self.operation = definition
        self.name = definition.name.value if definition.name else None
        self.fragments = {node.name.value: node for node in self.document.definitions
                          if isinstance(node, FragmentDefinitionNode)}
        strawberry_schema = getattr(schema, "_strawberry_schema", None)
        self._converter: GraphQLCoreConverter | None = getattr(
            strawberry_schema, "schema_converter", None)
        self.direct = 0
        """Resolvers the plan calls directly (``Plan._direct``)."""
        self.wrapped = 0
        """Resolvers the plan calls through Strawberry's wrapper (it might do more)."""
        root = schema.query_type
        if root is None:
            raise Bail("no query type")
        self._selections: dict[tuple[str, tuple[int, ...]], _Selection] = {}
        self.root = self._selection(root, [definition.selection_set])

    # --- compiling -----------------------------------------------------------------------

    def _selection(self, type_: GraphQLObjectType, sets: list[SelectionSetNode]
                   ) -> _Selection:
        """The fields ``type_`` answers for the selection sets ``sets`` (merged, as graphql-
        core's collect_fields merges them), compiled once per type and sets."""
        key = (type_.name, tuple(id(node) for node in sets))
        found = self._selections.get(key)
        if found is not None:
            return found
        selection = _Selection(type_)
        self._selections[key] = selection
        grouped: dict[str, list[FieldNode]] = {}
        visited: set[str] = set()  # one fragment collected once, as graphql-core does
        for node in sets:
            self._collect(type_, node, grouped, visited)
        for response_key, nodes in grouped.items():
            selection.fields.append(self._field(type_, response_key, nodes))
        selection.shape = _Shape(
            waits=any(planned.call is not None or planned.shape.waits
                      for planned in selection.fields),
            pathed=any(planned.call is not None or planned.shape.pathed
                       for planned in selection.fields))
        return selection

    def _collect(self, type_: GraphQLObjectType, node: SelectionSetNode,
                 grouped: dict[str, list[FieldNode]], visited: set[str]) -> None:
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                name = (selection.alias or selection.name).value
                grouped.setdefault(name, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or self._applies(condition.name.value, type_):
                    self._collect(type_, selection.selection_set, grouped, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if name in visited or fragment is None:
                    continue
                visited.add(name)
                if self._applies(fragment.type_condition.name.value, type_):
                    self._collect(type_, fragment.selection_set, grouped, visited)

    def _applies(self, condition: str, type_: GraphQLObjectType) -> bool:
        conditional = self.schema.get_type(condition)
        if conditional is type_:
            return True
        if isinstance(conditional, GraphQLAbstractType):
            return self.schema.is_sub_type(conditional, type_)
        return False

    def _field(self, parent: GraphQLObjectType, key: str, nodes: list[FieldNode]) -> _Field:
        name = nodes[0].name.value
        if name == "__typename":
            return _Field(key, name, None, nodes, None, None, _typename, _Shape(False, False))
        definition = parent.fields.get(name)
        if definition is None:
            raise Bail(f"unknown field {parent.name}.{name}")  # introspection: not planned
        attribute, resolve = None, definition.resolve
        if resolve is not None and getattr(resolve, "_is_default", False):
            strawberry_field = definition.extensions.get("strawberry-definition")
            default = getattr(strawberry_field, "default_resolver", None)
            if isinstance(strawberry_field, StrawberryField) and default is getattr \
                    and not strawberry_field.extensions and self._converter is not None \
                    and not self._converter._get_field_exception_handlers(strawberry_field):
                # an attribute (an extension or an exception handler: Strawberry's wrapper)
                attribute, resolve = strawberry_field.python_name, None
        if resolve is None and attribute is None:
            attribute = name  # graphql-core's default resolver, for an object
        complete, shape = self._completer(definition.type, nodes)
        planned = _Field(key, name, definition, nodes, None, None, complete, shape)
        if attribute is not None:
            planned.get = attrgetter(attribute)
        else:
            planned.call = self._caller(parent, definition, nodes, resolve)
        leaf = definition.type.of_type if isinstance(definition.type, GraphQLNonNull) \
            else definition.type
        if isinstance(leaf, GraphQLScalarType):
            planned.same = _SAME.get(leaf.coerce_output_value, _Never)
        elif isinstance(leaf, GraphQLEnumType):
            planned.enum, planned.names = _enum_names(leaf)
        return planned

    def _caller(self, parent: GraphQLObjectType, definition: GraphQLField,
                nodes: list[FieldNode], resolve: Callable[..., Any] | None
                ) -> Callable[[Any, Path, _Run], Any]:
        """The call of a field's resolver: the Python function itself where Strawberry's
        wrapper would add nothing (``_direct``), else the wrapper."""
        if resolve is None:
            raise Bail("a field without a resolver or an attribute")
        constants = None
        if not any(_has_variable(argument.value) for argument in nodes[0].arguments or ()):
            constants = get_argument_values(definition, nodes[0])
        direct = self._direct(parent, definition, nodes, constants)
        if direct is not None:
            self.direct += 1
            return direct
        self.wrapped += 1
        name, return_type = nodes[0].name.value, definition.type

        def wrapped(source: Any, path: Path, run: _Run) -> Any:
            arguments = constants
            if arguments is None:
                arguments = get_argument_values(definition, nodes[0], run.variables)
            return resolve(source, _info(run, name, nodes, return_type, parent, path),
                           **arguments)
        return wrapped

    def _direct(self, parent: GraphQLObjectType, definition: GraphQLField,
                nodes: list[FieldNode], constants: dict[str, Any] | None
                ) -> Callable[[Any, Path, _Run], Any] | None:
        """A direct call of a Strawberry field's Python resolver doing what Strawberry's
        wrapper does (``from_resolver``: arguments converted, ``self``/``root``/``info``
        passed, the permission classes checked, the result awaited), or None where the
        wrapper might do more: field extensions other than permissions, exception handlers,
        an argument that is not a plain value.  A refused permission gives up (``Bail``):
        the generic path words the refusal."""
        converter = self._converter
        strawberry_field = definition.extensions.get("strawberry-definition")
        is_async = _STRAWBERRY_WRAPPERS.get(getattr(definition.resolve, "__qualname__", ""))
        if converter is None or is_async is None \
                or not isinstance(strawberry_field, StrawberryField) \
                or strawberry_field.base_resolver is None \
                or strawberry_field.is_async is not is_async \
                or converter._get_field_exception_handlers(strawberry_field):
            return None
        permissions: list[Any] = []
        for extension in strawberry_field.extensions:
            if type(extension) is not PermissionExtension \
                    or type(extension).map_arguments is not FieldExtension.map_arguments:
                return None
            permissions.extend(extension.permissions)
        if not is_async and any(inspect.iscoroutinefunction(permission.has_permission)
                                for permission in permissions):
            return None  # Strawberry would run a sync field asynchronously
        base = strawberry_field.base_resolver
        function = base.wrapped_func
        if not callable(function) or inspect.iscoroutinefunction(function) is not is_async:
            return None  # an async generator, a callable object: the wrapper knows
        info_name = base.info_parameter.name if base.info_parameter else None
        passes_self = base.self_parameter is not None
        sources = [parameter.name for parameter in (base.parent_parameter,
                                                    base.root_parameter)
                   if parameter is not None]
        config, registry = converter.config, converter.scalar_registry
        arguments = strawberry_field.arguments
        converted: dict[str, Any] | None = None
        if constants is not None:
            try:
                converted = convert_arguments(constants, arguments, scalar_registry=registry,
                                              config=config, info=None)
            except Exception:
                converted = None
            if converted is not None and not all(
                    isinstance(value, _IMMUTABLE) for value in converted.values()):
                converted = None  # an object a resolver could change: one per request
        name, return_type, info_class = nodes[0].name.value, definition.type, config.info_class

        def prepare(source: Any, path: Path, run: _Run) -> tuple[Any, dict[str, Any]]:
            info = info_class(_raw_info=_info(run, name, nodes, return_type, parent, path),
                              _field=strawberry_field)
            if converted is not None:
                kwargs = dict(converted)
            else:
                raw = constants if constants is not None else get_argument_values(
                    definition, nodes[0], run.variables)
                kwargs = convert_arguments(raw, arguments, scalar_registry=registry,
                                           config=config, info=info)
            for source_name in sources:
                kwargs[source_name] = source
            return info, kwargs

        def invoke(source: Any, info: Any, kwargs: dict[str, Any]) -> Any:
            if info_name is not None:
                kwargs[info_name] = info
            return function(source, **kwargs) if passes_self else function(**kwargs)

        if not permissions:
            def call(source: Any, path: Path, run: _Run) -> Any:
                info, kwargs = prepare(source, path, run)
                return invoke(source, info, kwargs)
            return call

        if is_async:
            async def guarded(source: Any, info: Any, kwargs: dict[str, Any]) -> Any:
                for permission in permissions:
                    allowed = permission.has_permission(source, info, **kwargs)
                    if inspect.isawaitable(allowed):
                        allowed = await allowed
                    if allowed is not True:
                        raise Bail("a permission refused")
                return await invoke(source, info, kwargs)

            def call_guarded(source: Any, path: Path, run: _Run) -> Any:
                info, kwargs = prepare(source, path, run)
                return guarded(source, info, kwargs)
            return call_guarded

        def call_checked(source: Any, path: Path, run: _Run) -> Any:
            info, kwargs = prepare(source, path, run)
            for permission in permissions:
                if permission.has_permission(source, info, **kwargs) is not True:
                    raise Bail("a permission refused")
            return invoke(source, info, kwargs)
        return call_checked

    def _completer(self, type_: GraphQLOutputType, nodes: list[FieldNode],
                   nullable: bool = True) -> tuple[Completer, _Shape]:
        """A function completing a resolved value of ``type_`` (graphql-core's
        ``complete_value``, specialised), raising ``Bail`` where that would be an error
        (a null for a non-null type: ``nullable`` False)."""
        if isinstance(type_, GraphQLNonNull):
            return self._completer(type_.of_type, nodes, nullable=False)
        if isinstance(type_, GraphQLList):
            item, shape = self._completer(type_.of_type, nodes)
            waits, pathed = shape.waits, shape.pathed

            def list_(value: Any, path: Path | None, run: _Run) -> Any:
                if value is None:
                    if nullable:
                        return None
                    raise Bail("null for a non-null field")
                if type(value) is not list and (
                        isinstance(value, Exception | str | bytes | Mapping)
                        or not hasattr(value, "__iter__")):
                    raise Bail("not a list")
                if not waits:
                    if not pathed:
                        return [item(entry, None, run) for entry in value]
                    return [item(entry, path.add_key(index, None), run)  # type: ignore[union-attr]
                            for index, entry in enumerate(value)]
                completed: list[Any] = []
                awaitables: list[int] = []
                for index, entry in enumerate(value):
                    try:
                        done = item(entry, path.add_key(index, None) if pathed  # type: ignore[union-attr]
                                    else None, run)
                    except Exception as error:
                        if not awaitables:
                            raise
                        return _settle_then_raise([completed[i] for i in awaitables], error)
                    if optimized_is_awaitable(done):
                        awaitables.append(index)
                    completed.append(done)
                if not awaitables:
                    return completed
                return _fill(completed, awaitables)
            return list_, shape
        if isinstance(type_, GraphQLScalarType | GraphQLEnumType):
            coerce = type_.coerce_output_value
            enum, names = _enum_names(type_) if isinstance(type_, GraphQLEnumType) \
                else (_Never, None)

            def leaf(value: Any, path: Path | None, run: _Run) -> Any:
                if value is None:
                    if nullable:
                        return None
                    raise Bail("null for a non-null field")
                if names is not None and type(value) is enum:
                    name = names.get(value)
                    if name is not None:
                        return name
                if isinstance(value, Exception):
                    raise Bail("an error as a value")
                coerced = coerce(value)
                if coerced is Undefined or coerced is None:
                    raise Bail("a value that does not serialize")
                return coerced
            return leaf, _Shape(False, False)
        sets = [node.selection_set for node in nodes if node.selection_set is not None]
        if isinstance(type_, GraphQLObjectType):
            selection = self._selection(type_, sets)
            is_type_of = type_.is_type_of

            def object_(value: Any, path: Path | None, run: _Run) -> Any:
                if value is None:
                    if nullable:
                        return None
                    raise Bail("null for a non-null field")
                if isinstance(value, Exception):
                    raise Bail("an error as a value")
                if is_type_of is not None:
                    matches = is_type_of(value, None)  # type: ignore[arg-type]
                    if matches is not True:
                        raise Bail("is_type_of")
                return _execute(selection, value, path, run)
            return object_, selection.shape
        if isinstance(type_, GraphQLAbstractType):
            abstract = type_
            chosen: dict[str, _Selection] = {}
            resolve_type = abstract.resolve_type

            def abstract_(value: Any, path: Path | None, run: _Run) -> Any:
                if value is None:
                    if nullable:
                        return None
                    raise Bail("null for a non-null field")
                if isinstance(value, Exception) or resolve_type is None:
                    raise Bail("an abstract value without a type")
                name = resolve_type(value, _info(run, nodes[0].name.value, nodes, type_,
                                                 None, path), abstract)
                if not isinstance(name, str):
                    raise Bail("resolve_type did not name a type")
                selection = chosen.get(name)
                if selection is None:
                    runtime = self.schema.get_type(name)
                    if not isinstance(runtime, GraphQLObjectType) \
                            or not self.schema.is_sub_type(abstract, runtime):
                        raise Bail("resolve_type named a type outside the abstract type")
                    selection = chosen[name] = self._selection(runtime, sets)
                if selection.type_.is_type_of is not None \
                        and selection.type_.is_type_of(value, None) is not True:  # type: ignore[arg-type]
                    raise Bail("is_type_of")
                return _execute(selection, value, path, run)
            return abstract_, _Shape(True, True)  # the runtime type's fields: not known yet
        raise Bail(f"cannot plan {type_}")

    # --- running -------------------------------------------------------------------------

    async def run(self, context: Any, variables: VariableValues) -> dict[str, Any]:
        """The operation's ``data``, or ``Bail`` once every started resolver has settled."""
        helpers = GraphQLResolveInfoHelpers(_settle, _ignore)  # type: ignore[arg-type]
        run = _Run(self, context, variables, helpers)
        result = _execute(self.root, None, None, run)
        if optimized_is_awaitable(result):
            result = await result
        data: dict[str, Any] = result
        return data


def _typename(value: Any, path: Path | None, run: _Run) -> Any:
    raise Bail("__typename is answered by its selection")  # never called: see _execute


def _enum_names(type_: GraphQLEnumType) -> tuple[type, Mapping[Any, str] | None]:
    """The GraphQL name of each member of the Python enum behind a Strawberry enum type, as
    its ``coerce_output_value`` finds it (the first value equal to the member's), or
    ``(_Never, None)`` for another enum type."""
    wrapped = getattr(type_, "wrapped_cls", None)
    if not isinstance(type_, CustomGraphQLEnumType) or not isinstance(wrapped, type) \
            or not issubclass(wrapped, Enum):
        return _Never, None
    names: dict[Any, str] = {}
    for member in wrapped:
        for name, value in type_.values.items():
            if member.value == value.value:
                names[member] = name
                break
    return wrapped, names


def _has_variable(value: Any) -> bool:
    kind = getattr(value, "kind", None)
    if kind == "variable":
        return True
    if kind == "list_value":
        return any(_has_variable(item) for item in value.values)
    if kind == "object_value":
        return any(_has_variable(entry.value) for entry in value.fields)
    return False


def _ignore(_: Any) -> None:
    return None


def _info(run: _Run, name: str, nodes: list[FieldNode], return_type: GraphQLOutputType,
          parent: GraphQLObjectType | None, path: Path | None) -> GraphQLResolveInfo[Any]:
    plan = run.plan
    return GraphQLResolveInfo(
        name, nodes, return_type, parent, path, plan.schema,  # type: ignore[arg-type]
        plan.fragments, None, plan.operation, run.variables, run.context,
        optimized_is_awaitable, None, run.info_helpers)  # type: ignore[arg-type]


def _execute(selection: _Selection, source: Any, path: Path | None, run: _Run) -> Any:
    """The fields of ``selection`` on ``source``: a dict, or an awaitable of it.  ``path``
    is None where nothing below needs it (no resolver, no abstract type)."""
    result: dict[str, Any] = {}
    waiting: list[str] | None = None
    type_name = selection.type_.name
    try:
        for planned in selection.fields:
            key = planned.key
            get = planned.get
            if get is not None:  # an attribute: never an awaitable (no resolver)
                value = get(source)
                if type(value) is planned.same:
                    result[key] = value
                    continue
                names = planned.names
                if names is not None and type(value) is planned.enum:
                    name = names.get(value)
                    if name is not None:
                        result[key] = name
                        continue
                shape = planned.shape
                completed = planned.complete(
                    value, Path(path, key, type_name) if shape.pathed else None, run)
                if shape.waits and optimized_is_awaitable(completed):
                    if waiting is None:
                        waiting = []
                    waiting.append(key)
                result[key] = completed
                continue
            call = planned.call
            if call is None:
                result[key] = type_name
                continue
            field_path = Path(path, key, type_name)
            value = call(source, field_path, run)
            if optimized_is_awaitable(value):
                result[key] = _then(value, planned.complete, field_path, run)
            else:
                completed = planned.complete(value, field_path, run)
                result[key] = completed
                if not planned.shape.waits or not optimized_is_awaitable(completed):
                    continue
            if waiting is None:
                waiting = []
            waiting.append(key)
    except Exception as error:
        if waiting is None:
            raise
        return _settle_then_raise([result[key] for key in waiting], error)
    if waiting is None:
        return result
    return _fill_keys(result, waiting)


async def _then(value: Awaitable[Any], complete: Completer, path: Path, run: _Run) -> Any:
    completed = complete(await value, path, run)
    if optimized_is_awaitable(completed):
        return await completed
    return completed


async def _settle(awaitables: list[Awaitable[Any]]) -> list[Any]:
    """Every awaitable's value, concurrently; on a failure, the others are left to finish
    (never cancelled: a cancelled wait would cancel a DataLoader's shared future, which the
    generic path's rerun then reads) and the first failure is raised."""
    if len(awaitables) == 1:
        return [await awaitables[0]]
    tasks = [asyncio.ensure_future(awaitable) for awaitable in awaitables]
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return outcomes


async def _settle_then_raise(started: list[Awaitable[Any]], error: Exception) -> Any:
    """Let the work already started finish (see ``_settle``), then fail with ``error``."""
    await asyncio.gather(*started, return_exceptions=True)
    raise error


async def _fill_keys(result: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    values = await _settle([result[key] for key in keys])
    for key, value in zip(keys, values, strict=True):
        result[key] = value
    return result


async def _fill(completed: list[Any], indexes: list[int]) -> list[Any]:
    values = await _settle([completed[index] for index in indexes])
    for index, value in zip(indexes, values, strict=True):
        completed[index] = value
    return completed


KNOWN_EXTENSIONS = frozenset({
    # GuardRails (by its factory): the safelist, cost and repeats, validation, integrators'
    # budgets, the anonymous pace, the deadline of writes: ``FastPath.admit`` takes only
    # what these let through untouched (a citizen's query within the cap), with its cost.
    "limit_extensions.<locals>.<lambda>",
    "StringChecks",  # forbidden strings in variables: ``admit`` leaves them to it
    "ErrorCodes",  # errors only: the fast path answers none
    "NoStoreMutations",  # mutations only
    "OperationLabels",  # the request's metric labels: ``label_operation``
    "ReadYourWrites",  # mutations only (backend.gql.consistency)
})
"""The schema extensions (by qualified name) whose work on a citizen's query is done here or
is none; the fast path runs only on a schema with no others (``FastPath.covers``)."""


@dataclass(frozen=True)
class Admitted:
    """A request the fast path takes: its plan, coerced variables and the cost extension."""

    plan: Plan
    variables: VariableValues
    extensions: dict[str, Any]


class FastPath:
    """Plans of the safelist's operations, and the checks that decide which requests they
    answer (see the module).  ``enabled = False`` forces the generic path (the equality
    test's other side)."""

    def __init__(self, schema: GraphQLSchema, policy: Policy, limits: Limits,
                 enabled: bool = True) -> None:
        self.enabled = enabled
        self._schema = schema
        self._safelist = policy.safelist
        self._by_text = not policy.production
        """Production wants the hash (``PERSISTED_QUERY_REQUIRED`` for a bare text); elsewhere
        a request sending a manifest operation's exact text is planned as well."""
        self._limits = limits
        self._costs = CostModel(limits.cache_size, expand_limit=max(
            limits.cost_anonymous, limits.cost_citizen, limits.cost_staff,
            limits.cost_integrator))
        self._rules = (
            *specified_rules,
            *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
            *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
            CleanStringLiterals,
        )
        self._plans: dict[tuple[str, str | None], Plan | None] = {}
        self._names: dict[str, frozenset[str]] = {}
        self._checked: tuple[Any, ...] | None = None
        self._covered = False
        self.answered = 0
        """Requests the fast path answered (for tests and the benchmark's check)."""
        self.gave_up = 0
        """Requests whose plan gave up (``Bail``, an error): the generic path answered."""

    def covers(self, extensions: Sequence[Any]) -> bool:
        """Whether a schema's extensions are those whose work on a citizen's query the fast
        path does itself or knows to be none (``KNOWN_EXTENSIONS``).  An extension added
        later turns the fast path off, loudly, until it is looked at here."""
        key = tuple(extensions)
        if key != self._checked:
            self._checked = key
            unknown = [getattr(found, "__qualname__", repr(found)) for found in key
                       if getattr(found, "__qualname__", None) not in KNOWN_EXTENSIONS]
            self._covered = not unknown
            if unknown:
                log.warning("the fast path for persisted operations is off: it does not know "
                            "what the schema extensions %s do", ", ".join(unknown))
        return self._covered

    def plan_for(self, query: str | None, extensions: Mapping[str, Any] | None,
                 operation_name: str | None) -> Plan | None:
        """The plan of the safelisted document a request names (by hash or by its text), or
        None: not one of the app's, or not a query the fast path can plan."""
        if not self.enabled or self._safelist is None:
            return None
        try:
            found = self._safelist.resolve(extensions, query)
        except PersistedQueryNotFound:
            return None
        if found is None:
            found = self._safelist.by_text(query) if query and self._by_text else None
            if found is None:
                return None
        if operation_name is not None and operation_name not in self._names_in(found):
            return None  # the generic path refuses it; a client's names are never kept here
        key = (found.text, operation_name)
        if key not in self._plans:
            try:
                self._plans[key] = self._compile(found, operation_name)
            except Exception:  # a fault of the planner: that operation stays generic
                log.exception("operation %s is left to the generic path", operation_name)
                self._plans[key] = None
        return self._plans[key]

    def _names_in(self, found: PersistedOperation) -> frozenset[str]:
        """The names of a safelisted document's operations (kept per document: as many as
        the safelist has)."""
        names = self._names.get(found.text)
        if names is None:
            names = self._names[found.text] = frozenset(
                node.name.value for node in found.document.definitions
                if isinstance(node, OperationDefinitionNode) and node.name is not None)
        return names

    def _compile(self, found: PersistedOperation, operation_name: str | None) -> Plan | None:
        definition = get_operation_ast(found.document, operation_name)
        if definition is None or definition.operation is not OperationType.QUERY:
            return None
        if not _no_directives(found.document):
            return None
        if validate_document(self._schema, found.document, self._rules):
            return None
        try:
            return Plan(self._schema, found, definition)
        except Bail as reason:
            log.info("operation %s is left to the generic path: %s",
                     definition.name.value if definition.name else "?", reason)
            return None

    def admit(self, plan: Plan, context: Any, variables: Any) -> Admitted | None:
        """The request's coerced variables and cost, when the fast path may answer it: a
        citizen's, with variables that coerce and hold no forbidden string, within the cost
        cap.  None: the generic path answers (and refuses, where it does)."""
        principal = getattr(context, "principal", None)
        if not isinstance(principal, Citizen):
            return None
        if variables is not None and not isinstance(variables, dict):
            return None
        if variables and _may_hold_forbidden(variables) and _forbidden_at(variables):
            return None
        estimate = self._costs.estimate(self._schema, plan.text, plan.document, plan.name,
                                        variables)
        if estimate is None or estimate.introspects:
            return None
        limit = self._limits.max_cost(principal)
        if estimate.repeats > self._limits.max_repeats or estimate.cost > limit:
            return None
        try:
            coerced = get_variable_values(self._schema, plan.operation.variable_definitions
                                          or (), variables or {})
        except (GraphQLError, RecursionError):
            return None
        if not isinstance(coerced, VariableValues):
            return None  # coercion errors: the generic path words them
        return Admitted(plan, coerced, {"cost": {"requested": estimate.cost, "limit": limit}})
