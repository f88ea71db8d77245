"""The fast path for persisted operations (``backend.gql.fastpath``) calls the resolvers of
the app's queries themselves, not through Strawberry's per-field wrapper: a Strawberry
upgrade that renames the wrapper, or a field extension added to one of these fields, would
quietly send them back through it (the answers stay the same, only the CPU per request
grows), so this says which field lost its direct call.  That the direct calls answer the
same bytes is ``test_fastpath_equality.py``'s."""

from __future__ import annotations

from fastapi import FastAPI

from tests.api.test_fastpath_equality import MANIFEST, QUERIES, route_of


def test_every_resolver_of_the_apps_queries_is_called_directly(app: FastAPI) -> None:
    fast_path = route_of(app).fast_path
    assert fast_path is not None
    for name in sorted(QUERIES):
        plan = fast_path.plan_for(None, {"persistedQuery": {
            "version": 1, "sha256Hash": MANIFEST[name]["sha256"]}}, None)
        assert plan is not None, f"{name} is not planned"
        assert plan.direct > 0, name
        assert plan.wrapped == 0, f"{name}: {plan.wrapped} resolvers through the wrapper"
