"""What an operation will cost, estimated from its document before anything runs.

GitHub's and Shopify's method: every field costs 1; a connection multiplies the cost of what
is selected inside it by ``first`` (or the default page size); a plain list multiplies by its
cap (``LIST_CAPS``: a fixed ceiling, or an argument such as ``months`` or the length of
``iins``).  ``first`` and those arguments are read from the document or from the variables.
Fragments and inline fragments count where they are spread; an inline fragment on every
member of an interface counts in full (an upper bound).  Introspection (``__schema``,
``__type``) counts each field once: graphql-core refuses nested introspection, and production
answers it to integrators only.

**Repeated fields count each time they are written.**  GraphQL merges identical sibling
fields into one answer, so ``{ a a a }`` runs ``a`` once, but the server still reads,
validates and collects every copy, and validation compares every pair of fields that answer
at the same place of the response (quadratic: 199 copies of a small connection took 0.5 s to
validate; five copies at each of four nested levels, 0.23 s).  So the estimate counts
occurrences, and ``Estimate.repeats`` (the most fields answering at one response path,
fragments expanded) lets the caller refuse such documents before validation ever runs.

The estimate runs on the parsed document *before* validation (validation is the expensive
step for the worst documents), so it tolerates what validation would refuse: an unknown field
costs 1, an unknown or cyclic fragment 0.  ``CostModel`` keeps one plan per document and
operation name; a plan whose cost depends on variables remembers the cost per value.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SchemaMetaFieldDef,
    SelectionSetNode,
    TypeMetaFieldDef,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
    value_from_ast_untyped,
)
from graphql.utilities import get_operation_ast

from backend.errors import AppError
from backend.gql.matrix import permission_for
from backend.gql.pagination import DEFAULT_PAGE, MAX_PAGE
from backend.gql.permissions import (
    CitizenOnly,
    IntegratorScope,
    SignedIn,
    StaffOnly,
    StaffWithConsent,
)

INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})
SIGNED_IN_ONLY = (CitizenOnly, IntegratorScope, SignedIn, StaffOnly, StaffWithConsent)
"""Root fields refused to anonymous callers before anything below them runs: for them such a
field costs 1 (its refusal), so an anonymous caller sending an integrator's mutation hears
UNAUTHENTICATED, not QUERY_TOO_COSTLY."""
DEFAULT_LIST_CAP = 20
"""The cap of a list field missing from ``LIST_CAPS`` (a test keeps the table complete)."""


@dataclass(frozen=True)
class ListCap:
    """How many items a list field can return: ``ceiling``, or the value of ``argument`` (its
    length when ``length``; ``default`` when absent) up to ``ceiling``."""

    ceiling: int
    argument: str | None = None
    default: int = 1
    length: bool = False


LIST_CAPS: Mapping[tuple[str, str], ListCap] = {
    ("Citizen", "contributionMonths"): ListCap(36, "months", 12),
    ("Citizen", "signedInDevices"): ListCap(20),
    ("Citizen", "pushDevices"): ListCap(20),
    ("Citizen", "children"): ListCap(20),
    ("ContributionAnomaly", "flags"): ListCap(10),
    ("ContributionMonth", "contributions"): ListCap(10),
    ("DisputeCase", "history"): ListCap(4),
    ("DisputeReview", "history"): ListCap(50),
    ("DeskPatient", "signedInDevices"): ListCap(20),
    ("DeskPatient", "pushDevices"): ListCap(20),
    ("HelpArticle", "tags"): ListCap(10),
    ("IngestPayload", "issues"): ListCap(1000),
    ("LogProof", "hashes"): ListCap(64),  # an inclusion proof: at most one hash per level
    ("IngestPayload", "rejectedByCode"): ListCap(20),
    ("IngestPayload", "flaggedByFlag"): ListCap(20),
    ("GuardianshipPayload", "issues"): ListCap(1000),
    ("InsuranceStatus", "history"): ListCap(60, "months", 24),
    ("InsuredPeople", "byRegion"): ListCap(20),
    ("MoneyIn", "byMonth"): ListCap(60),
    ("MoneyIn", "byRegion"): ListCap(20),
    ("MoneyIn", "byKind"): ListCap(5),
    ("MoneyIn", "byPayerKind"): ListCap(4),
    ("MoneyOut", "byMonth"): ListCap(60),
    ("MoneyOut", "byRegion"): ListCap(20),
    ("MoneyOut", "byPackage"): ListCap(2),
    ("MoneyOut", "byCategory"): ListCap(10),
    ("MoneyFlowYear", "contributedByKind"): ListCap(5),
    ("MoneyFlowYear", "contributedByPayer"): ListCap(20),
    ("MoneyFlowYear", "fundPaidByPackage"): ListCap(2),
    ("MoneyFlowYear", "fundPaidByProvider"): ListCap(20),
    ("Notification", "contributions"): ListCap(20),
    ("Notification", "coveredServices"): ListCap(20),
    ("NotificationPreferences", "switches"): ListCap(12),
    ("ConsentSmsPayload", "userErrors"): ListCap(5),
    ("DeskPushChoices", "switchedOff"): ListCap(6),
    ("NotificationCheck", "devices"): ListCap(20),
    ("OnboardingCodePayload", "userErrors"): ListCap(5),
    ("PatientWindowPayload", "userErrors"): ListCap(5),
    ("SignInCodePayload", "userErrors"): ListCap(5),
    ("SignInPayload", "userErrors"): ListCap(5),
    ("Query", "patientWindows"): ListCap(20),
    ("Query", "disputeCountsByRegion"): ListCap(20),
    ("Query", "eligibility"): ListCap(500, "iins", 1, length=True),
    ("RecordIssue", "flags"): ListCap(10),
    ("ServiceAnomaly", "flags"): ListCap(10),
    ("SelfPaymentDue", "arrearsPeriods"): ListCap(60),
    ("PaymentOption", "months"): ListCap(13),
}
CONNECTION_CAP = ListCap(MAX_PAGE, "first", DEFAULT_PAGE)


class QueryTooCostly(AppError):
    """The estimate is over the caller's cap (``extensions.cost`` says both)."""

    code = "QUERY_TOO_COSTLY"
    status_code = 400


@dataclass(frozen=True)
class Estimate:
    """The estimate of one operation: its ``cost``, the most fields answering at one response
    path (``repeats``), and whether it asks for ``__schema``/``__type``."""

    cost: int
    repeats: int
    introspects: bool


_DEFAULT_CAP = ListCap(DEFAULT_LIST_CAP)
_META_FIELDS = {"__schema": SchemaMetaFieldDef, "__type": TypeMetaFieldDef}


def _count(value: Any, cap: ListCap) -> int:
    """The number of items ``value`` (an argument's value) asks for, within ``cap``."""
    if cap.length:
        count = len(value) if isinstance(value, list) else cap.default
    elif isinstance(value, int) and not isinstance(value, bool):
        count = value
    else:
        count = cap.default
    return max(1, min(count, cap.ceiling))


def _is_connection(type_: GraphQLNamedType | None) -> bool:
    fields = getattr(type_, "fields", None)
    return fields is not None and "edges" in fields and "pageInfo" in fields


@dataclass
class _Walk:
    """One walk over an operation with the variables' values at hand."""

    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]
    anonymous: bool = False
    consulted: set[str] = field(default_factory=set)
    introspects: bool = False
    _fragment_costs: dict[tuple[str, str | None], int] = field(default_factory=dict)
    _open: set[str] = field(default_factory=set)

    def selection(self, node: SelectionSetNode | None, type_: GraphQLNamedType | None,
                  introspection: bool = False) -> int:
        """The cost of a selection set on ``type_`` (None: unknown)."""
        if node is None:
            return 0
        total = 0
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                total += self._field(selection, type_, introspection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else type_
                total += self.selection(selection.selection_set, inner, introspection)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._spread(selection.name.value, introspection)
        return total

    @property
    def _roots(self) -> tuple[GraphQLNamedType | None, ...]:
        return (self.schema.query_type, self.schema.mutation_type)

    def _spread(self, name: str, introspection: bool) -> int:
        fragment = self.fragments.get(name)
        if fragment is None or name in self._open:
            return 0  # unknown or cyclic: validation refuses the document
        key = (name, "introspection" if introspection else None)
        if key not in self._fragment_costs:
            self._open.add(name)
            inner = self.schema.get_type(fragment.type_condition.name.value)
            self._fragment_costs[key] = self.selection(fragment.selection_set, inner,
                                                       introspection)
            self._open.discard(name)
        return self._fragment_costs[key]

    def _field(self, node: FieldNode, parent: GraphQLNamedType | None,
               introspection: bool) -> int:
        name = node.name.value
        if name in INTROSPECTION_FIELDS:
            self.introspects = True
            introspection = True
        definition = self._definition(parent, name)
        if definition is None:
            return 1 + self.selection(node.selection_set, None, introspection)
        if (self.anonymous and not introspection and parent in self._roots
                and isinstance(permission_for(definition), SIGNED_IN_ONLY)):
            return 1
        child = get_named_type(definition.type)
        times = 1
        if introspection:
            pass  # each introspection field once (see the module's docstring)
        elif _is_connection(child):
            times = self._times(node, CONNECTION_CAP)
        elif (parent is not None and is_list_type(get_nullable_type(definition.type))
              and not _is_connection(parent)):
            times = self._times(node, LIST_CAPS.get((parent.name, name), _DEFAULT_CAP))
        return 1 + times * self.selection(node.selection_set, child, introspection)

    def _definition(self, parent: GraphQLNamedType | None, name: str) -> Any:
        meta = _META_FIELDS.get(name)  # graphql-core keeps these off the root type
        if meta is not None:
            return meta
        fields = getattr(parent, "fields", None)
        return None if fields is None else fields.get(name)

    def _times(self, node: FieldNode, cap: ListCap) -> int:
        if cap.argument is None:
            return cap.ceiling
        value: Any = None
        for argument in node.arguments or ():
            if argument.name.value != cap.argument:
                continue
            if isinstance(argument.value, VariableNode):
                self.consulted.add(argument.value.name.value)
                value = self.variables.get(argument.value.name.value)
            elif isinstance(argument.value, IntValueNode | ListValueNode):
                value = value_from_ast_untyped(argument.value)
        return _count(value, cap)

class _Repeats:
    """How many fields answer at one place of the response (GraphQL merges them; validation
    compares every pair), fragments expanded where they are spread.

    The expansion is not memoized (a fragment counts at each place it is spread), so it stops
    after ``budget`` fields: a document that large is over every cost cap anyway."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode], budget: int) -> None:
        self._fragments = fragments
        self._budget = budget
        self._open: set[str] = set()
        self.counts: Counter[tuple[str, ...]] = Counter()

    def walk(self, node: SelectionSetNode | None, path: tuple[str, ...]) -> bool:
        """Count the fields under ``path``; False when the budget ran out."""
        if node is None:
            return True
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                self._budget -= 1
                place = (*path, (selection.alias or selection.name).value)
                self.counts[place] += 1
                if self._budget < 0 or not self.walk(selection.selection_set, place):
                    return False
            elif isinstance(selection, InlineFragmentNode):
                if not self.walk(selection.selection_set, path):
                    return False
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self._fragments.get(selection.name.value)
                if fragment is None or fragment.name.value in self._open:
                    continue
                self._open.add(fragment.name.value)
                going = self.walk(fragment.selection_set, path)
                self._open.discard(fragment.name.value)
                if not going:
                    return False
        return True

    @property
    def most(self) -> int:
        """The most fields at one place (at least 1)."""
        return max(self.counts.values(), default=1)


def estimate(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
             variables: Mapping[str, Any] | None, expand_limit: int = 100_000, *,
             anonymous: bool = False) -> tuple[Estimate, frozenset[str]] | None:
    """The estimate of the chosen operation and the variables it read (None: no such
    operation; Strawberry answers that itself).  Repeats are counted only when the cost is
    within ``expand_limit`` (beyond it every cap refuses the document)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None
    values = {**_defaults(operation), **(variables or {})}
    fragments = {definition.name.value: definition for definition in document.definitions
                 if isinstance(definition, FragmentDefinitionNode)}
    walk = _Walk(schema, fragments, values, anonymous)
    root = schema.get_root_type(operation.operation)
    cost = walk.selection(operation.selection_set, root)
    repeats = _Repeats(fragments, expand_limit)
    most = repeats.most if cost <= expand_limit and repeats.walk(operation.selection_set, ()) \
        else cost
    return Estimate(cost, most, walk.introspects), frozenset(walk.consulted)


def _defaults(operation: OperationDefinitionNode) -> dict[str, Any]:
    return {definition.variable.name.value: value_from_ast_untyped(definition.default_value)
            for definition in operation.variable_definitions or ()
            if definition.default_value is not None}


class CostModel:
    """Estimates kept per document text and operation name (most documents are the app's
    same few), and per value of the variables that the cost reads."""

    PER_PLAN = 32
    """Distinct variable values remembered for one document."""

    def __init__(self, size: int, expand_limit: int) -> None:
        self._size = size
        self._expand_limit = expand_limit
        self._plans: OrderedDict[tuple[str, str | None, bool],
                                 tuple[frozenset[str], dict[tuple[Any, ...], Estimate]]] = \
            OrderedDict()

    def estimate(self, schema: GraphQLSchema, text: str, document: DocumentNode,
                 operation_name: str | None, variables: Mapping[str, Any] | None, *,
                 anonymous: bool = False) -> Estimate | None:
        """The estimate for this request (``anonymous``: by a caller without credentials);
        computed at most once per document, kind of caller and values."""
        key = (text, operation_name, anonymous)
        plan = self._plans.get(key)
        if plan is not None:
            self._plans.move_to_end(key)
            consulted, known = plan
            values = _values_key(consulted, variables)
            found = known.get(values)
            if found is not None:
                return found
        done = estimate(schema, document, operation_name, variables, self._expand_limit,
                        anonymous=anonymous)
        if done is None:
            return None
        result, consulted = done
        if plan is None:
            plan = (consulted, {})
            self._plans[key] = plan
            if len(self._plans) > self._size:
                self._plans.popitem(last=False)
        if len(plan[1]) < self.PER_PLAN:
            plan[1][_values_key(consulted, variables)] = result
        return result


_ABSENT = ("absent",)
"""A variable not sent at all: its default in the document counts, unlike an explicit null."""


def _values_key(names: frozenset[str], variables: Mapping[str, Any] | None
                ) -> tuple[Any, ...]:
    """What of the variables the cost depends on: nothing else may tell two requests apart
    (so a client cannot fill the cache with values that cost the same)."""
    if not names:
        return ()
    given = variables or {}
    return tuple((name, _hashable(given[name]) if name in given else _ABSENT)
                 for name in sorted(names))


def _hashable(value: Any) -> Any:
    """``value`` as ``_count`` reads it: a list by its length, an integer as it is, anything
    else by its type (each counts as the argument's default)."""
    if isinstance(value, list):
        return ("list", len(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return repr(type(value))
