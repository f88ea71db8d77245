"""Rendering errors: known errors keep their message and get ``extensions.code``; everything
else is masked as ``INTERNAL`` so that no stack trace, SQL or personal data reaches a client."""

from __future__ import annotations

import logging

from graphql import VariableDefinitionNode
from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors

from auth.errors import AuthError
from backend.errors import AppError
from backend.gql.coercion import Problems, null_argument_of, variable_of
from backend.gql.limits import limit_of
from backend.messages import auth_message

log = logging.getLogger(__name__)

INTERNAL_MESSAGE = "Something went wrong on our side. Please try again later."


def _code_for(error: GraphQLError) -> str | None:
    if variable_of(error) is not None or null_argument_of(error) is not None:
        return "BAD_USER_INPUT"  # a variable that does not fit its type: backend.gql.coercion
    original = error.original_error
    if isinstance(original, AppError | AuthError):
        return original.code
    if original is None:
        # Raised by graphql-core itself: syntax, validation, variable coercion.
        return (error.extensions or {}).get("code") or "GRAPHQL_VALIDATION_FAILED"
    return None


class ErrorCodes(MaskErrors):
    """``MaskErrors`` that labels what it lets through and logs what it hides."""

    def __init__(self) -> None:
        super().__init__(error_message=INTERNAL_MESSAGE)

    def _language(self) -> str:
        context = getattr(self.execution_context, "context", None)
        return getattr(context, "known_language", "en")

    def _variable_problem(self, error: GraphQLError, problems: Problems) -> None:
        """Words of our own for a variable-coercion error (graphql-core's quote the value);
        an ``AppError`` of a scalar (``YearMonth``'s) keeps its own words."""
        node = variable_of(error)
        null_for = null_argument_of(error)
        if node is None and null_for is None:
            return
        problem = (problems.describe(node) if node is not None
                   else problems.null_for(str(null_for), self._declared(str(null_for))))
        cause = error.original_error
        while isinstance(cause, GraphQLError) and cause.original_error is not None:
            cause = cause.original_error
        error.message = (cause.message_in(self._language()) if isinstance(cause, AppError)
                         else problem.texts()[self._language()])
        error.extensions = {**(error.extensions or {}), "field": problem.field}

    def _declared(self, name: str) -> VariableDefinitionNode | None:
        """The definition of the variable ``$name`` in the operation that ran."""
        document = self.execution_context.graphql_document
        for definition in document.definitions if document is not None else ():
            for variable in getattr(definition, "variable_definitions", None) or ():
                if variable.variable.name.value == name:
                    return variable  # type: ignore[no-any-return]
        return None

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed: list[GraphQLError] = []
        context = self.execution_context
        problems = Problems(context.schema._schema, context.variables)
        for error in errors:
            code = _code_for(error)
            if code is None:
                log.error(
                    "unexpected error in %s",
                    ".".join(map(str, error.path or [])),
                    exc_info=error.original_error,
                )
                masked = self.anonymise_error(error)
                masked.extensions = {"code": "INTERNAL"}
                processed.append(masked)
                continue
            original = error.original_error
            self._variable_problem(error, problems)
            if isinstance(original, AppError):
                error.message = original.message_in(self._language())
            elif isinstance(original, AuthError):
                texts = auth_message(original.reason,
                                     seconds=getattr(original, "retry_after", ""))
                error.message = texts.get(self._language(), texts["en"])
            extensions = dict(error.extensions or {})
            extensions["code"] = code
            limit = limit_of(error) if error.original_error is None else None
            if limit is not None:
                extensions["code"] = "BAD_USER_INPUT"
                extensions["limit"] = limit
            field = getattr(original, "field", None)
            if field:
                extensions["field"] = field
            reason = getattr(original, "reason", None)
            if reason is not None and reason != code:
                extensions["reason"] = reason
            retry_after = getattr(error.original_error, "retry_after", None)
            if retry_after is not None:
                extensions["retryAfter"] = retry_after
            error.extensions = extensions
            processed.append(error)
        return processed
