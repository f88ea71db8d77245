"""Strings that clients send: never a NUL or a lone surrogate, and a stated maximum length for
every string a mutation takes.

Why: PostgreSQL refuses NUL in text and asyncpg cannot encode a lone surrogate, so either one
reached the database as an ``INTERNAL`` error; and a mutation keeps what it is given (an
announcement is copied into every recipient's inbox), so its size must be bounded where the
schema says it is.

Two checks, one rule each:

- ``StringChecks`` (schema extension): every string in the request's variables, and every
  string literal in the document, is free of NUL and lone surrogates, whatever field it is for.
- ``StringLimits`` (field extension, put on every mutation by ``limit_strings``): each string
  argument and input field is at most the length declared next to it with ``text_argument`` or
  ``text_field``, whose description states the same number.  A limit declared on an argument or
  input field holds for every string inside its value (the title's 60 characters hold for the
  title in each language) unless a field inside declares its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import strawberry
from graphql import (
    ArgumentNode,
    ExecutionResult,
    GraphQLError,
    ObjectFieldNode,
    StringValueNode,
    ValidationRule,
)
from strawberry.extensions import FieldExtension, SchemaExtension
from strawberry.types.arguments import StrawberryArgumentAnnotation
from strawberry.types.base import get_object_definition, has_object_definition
from strawberry.types.field import StrawberryField
from strawberry.utils.str_converters import to_camel_case

from backend.errors import BadUserInput
from backend.messages import message

MAX_LENGTH = "max_length"
"""The metadata key of a declared maximum length (in characters: Unicode code points)."""

_FORBIDDEN = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")


class InvalidString(BadUserInput):
    """A string a client sent that cannot be taken; ``field`` says which one."""

    def __init__(self, texts: Mapping[str, str], field: str) -> None:
        super().__init__(texts)
        self.field = field


def _stated(description: str, max_length: int) -> str:
    return f"{description} At most {max_length} characters."


def text_field(max_length: int, description: str, **kwargs: Any) -> Any:
    """An input field holding text of at most ``max_length`` characters (said in its
    description, enforced by ``StringLimits``)."""
    return strawberry.field(description=_stated(description, max_length),
                            metadata={MAX_LENGTH: max_length}, **kwargs)


def text_argument(max_length: int, description: str) -> StrawberryArgumentAnnotation:
    """An argument holding text of at most ``max_length`` characters (for ``Annotated``)."""
    return strawberry.argument(description=_stated(description, max_length),
                               metadata={MAX_LENGTH: max_length})


def check_text(value: str, field: str, max_length: int | None = None) -> str:
    """``value`` itself, or ``InvalidString`` naming ``field``."""
    if _FORBIDDEN.search(value):
        raise InvalidString(message("text_forbidden", field=field), field)
    if max_length is not None and len(value) > max_length:
        raise InvalidString(message("text_too_long", field=field, max=max_length), field)
    return value


def _check_value(value: Any, path: str, limit: int | None) -> None:
    if isinstance(value, str):
        check_text(value, path, limit)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_value(item, f"{path}.{index}", limit)
    elif has_object_definition(value):
        for field in get_object_definition(value, strict=True).fields:
            _check_value(getattr(value, field.python_name, None),
                         f"{path}.{field.graphql_name or to_camel_case(field.python_name)}",
                         field.metadata.get(MAX_LENGTH, limit))


class StringLimits(FieldExtension):
    """Checks a field's converted arguments against their declared lengths before the
    resolver runs (in ``map_arguments``: no resolve wrapper, no cost to other fields)."""

    def apply(self, field: StrawberryField) -> None:
        self._arguments = [
            (argument.python_name, argument.graphql_name or to_camel_case(argument.python_name),
             argument.metadata.get(MAX_LENGTH))
            for argument in field.arguments]

    def map_arguments(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        for python_name, graphql_name, limit in self._arguments:
            _check_value(kwargs.get(python_name), graphql_name, limit)
        return kwargs


def limit_strings(*types: type) -> None:
    """Put ``StringLimits`` on every field of ``types`` that takes arguments (once: the
    schema may be built many times in one process)."""
    for cls in types:
        for field in get_object_definition(cls, strict=True).fields:
            if field.arguments and not any(isinstance(extension, StringLimits)
                                           for extension in field.extensions):
                field.extensions.append(StringLimits())


class CleanStringLiterals(ValidationRule):
    """A string literal in the document holds no NUL (the lexer already refuses lone
    surrogates, but reads ``\\u0000`` as a NUL)."""

    def enter_string_value(self, node: StringValueNode, _key: object, parent: object,
                           _path: object, ancestors: list[Any]) -> None:
        if _FORBIDDEN.search(node.value):
            field = ".".join(step.name.value for step in [*ancestors, parent]
                             if isinstance(step, ArgumentNode | ObjectFieldNode))
            error = InvalidString(message("text_forbidden", field=field), field)
            self.report_error(GraphQLError(error.message, node, original_error=error))


def _may_hold_forbidden(value: Any) -> bool:
    """A quick look at the whole JSON value at C speed (an integrator's batch of 1,000 records
    is 8,000 strings): the encoder writes a NUL as ``\\u0000`` and leaves surrogates as they
    are.  A yes may be wrong (a client's text ``\\u0000``); ``_forbidden_at`` then decides."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return True
    return "\\u0000" in text or _SURROGATE.search(text) is not None


def _forbidden_at(value: Any) -> list[str] | None:
    """The path to the first string (or key) holding a NUL or a lone surrogate inside a JSON
    value, None when there is none (the path is only built for a hit: batches are large).  A
    key that is not a GraphQL name is shown as ``…``: it is the client's text, and paths end
    up in messages."""
    if isinstance(value, str):
        return [] if _FORBIDDEN.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = key if isinstance(key, str) and _NAME.fullmatch(key) else "…"
            if isinstance(key, str) and _FORBIDDEN.search(key):
                return []
            found = _forbidden_at(item)
            if found is not None:
                return [name, *found]
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _forbidden_at(item)
            if found is not None:
                return [str(index), *found]
    return None


class StringChecks(SchemaExtension):
    """No NUL or lone surrogate in any variable or string literal of any operation."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.validation_rules = (*context.validation_rules, CleanStringLiterals)
        yield

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        found = _forbidden_at(context.variables) if _may_hold_forbidden(context.variables) else None
        if found:
            path = ".".join(["$" + found[0], *found[1:]])
            error = InvalidString(message("text_forbidden", field=path), path)
            context.result = ExecutionResult(data=None, errors=[
                GraphQLError(error.message, original_error=error)])
        yield
