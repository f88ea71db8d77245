"""How a generated request is wrapped: mostly a generated document in a POST body; sometimes
one of the app's own operations named by its hash (Apollo's ``persistedQuery`` extension, as
production wants from the app) with hostile variables of that operation; sometimes a GET.

The app's operations are the most used path of the API, and their variables are what a
tampered or outdated app would send wrong.
"""

from __future__ import annotations

import dataclasses
import json
from functools import cache
from pathlib import Path
from typing import Any

import graphql
from hypothesis import strategies as st

from tests.fuzz.documents import Operation, fuzz_requests, schema
from tests.fuzz.headers import extra_headers
from tests.fuzz.request import FuzzRequest
from tests.fuzz.values import json_for, texts, wrong_json

CONTRACT = Path(__file__).resolve().parents[2] / "mobile_contract"


@dataclasses.dataclass(frozen=True)
class AppOperation:
    """One operation of ``mobile_contract``: its text, hash and variable definitions."""

    text: str
    sha256: str
    variables: tuple[graphql.VariableDefinitionNode, ...]


@cache
def app_operations(operation: Operation) -> tuple[AppOperation, ...]:
    """The app's operations of this kind, from the manifest (the safelist)."""
    manifest = json.loads((CONTRACT / "manifest.json").read_text(encoding="utf-8"))
    found = []
    for entry in manifest.values():
        text = (CONTRACT / entry["file"]).read_text(encoding="utf-8")
        [definition] = [d for d in graphql.parse(text).definitions
                        if isinstance(d, graphql.OperationDefinitionNode)]
        if definition.operation.value == operation:
            found.append(AppOperation(text, entry["sha256"],
                                      tuple(definition.variable_definitions or ())))
    return tuple(found)


@st.composite
def persisted(draw: st.DrawFn, operation: Operation, known: tuple[str, ...]) -> FuzzRequest:
    """An app operation by hash (sometimes a hash that is not one, a version that is not 1,
    or the text as well), with each variable of its type, of a wrong type, or left out."""
    chosen = draw(st.sampled_from(app_operations(operation)))
    sha = chosen.sha256 if draw(st.integers(0, 3)) else draw(texts(known))
    version = 1 if draw(st.integers(0, 3)) else draw(wrong_json(known))
    extensions: Any = {"persistedQuery": {"version": version, "sha256Hash": sha}}
    if draw(st.integers(0, 9)) == 0:
        extensions = draw(wrong_json(known))
    variables: dict[str, Any] = {}
    for definition in chosen.variables:
        type_ = graphql.type_from_ast(schema(), definition.type)
        choice = draw(st.sampled_from(("typed", "typed", "typed", "wrong", "missing")))
        if choice == "typed" and type_ is not None and graphql.is_input_type(type_):
            variables[definition.variable.name.value] = draw(json_for(type_, known))
        elif choice != "missing":
            variables[definition.variable.name.value] = draw(wrong_json(known))
    query = chosen.text if draw(st.integers(0, 4)) == 0 else None
    return FuzzRequest(query, variables, None, bool(variables) or draw(st.booleans()),
                       extensions, True)


def as_get(request: FuzzRequest) -> FuzzRequest:
    """The same members as the query parameters of a GET."""
    return dataclasses.replace(request, method="GET")


MAX_URL = 60_000
"""httpx refuses longer URLs (65,536); a longer GET goes unsent, as no client could send it."""


@st.composite
def any_request(draw: st.DrawFn, operation: Operation, kind: str, known: tuple[str, ...]
                ) -> FuzzRequest:
    """Eight in ten a generated document by POST; one a persisted app operation; one a GET of
    either; one in five of all with a hostile ``Accept-Language`` or ``Authorization``."""
    roll = draw(st.integers(0, 9))
    if roll < 8:
        request = draw(fuzz_requests(operation, kind, known))
    elif roll == 8:
        request = draw(persisted(operation, known))
    else:
        request = as_get(draw(st.one_of(fuzz_requests(operation, kind, known),
                                        persisted(operation, known))))
        if len(request.url()) > MAX_URL:
            request = dataclasses.replace(request, method="POST")
    if draw(st.integers(0, 4)) == 0:
        request = dataclasses.replace(request, headers=draw(extra_headers()))
    return request
