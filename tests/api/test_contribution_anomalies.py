"""``contributionAnomalies``: the Fund (integrators with ``stats:read``) reviews contributions
that the ingestion stored flagged (``AFTER_DEATH``), newest first, naming no person.

The helpers and the ``tidy`` and ``people`` fixtures are those of ``test_ingest_api``.
"""

from __future__ import annotations

from datetime import date

import httpx

from auth.principals import Scope
from auth.service import AuthService
from backend.messages import message
from backend.models import Person
from tests.api import test_ingest_api as base
from tests.api.gql import codes, data, graphql

tidy = base.tidy
people = base.people
Tidy = base.Tidy
ANOMALIES = """
query Anomalies($flag: String, $first: Int, $after: String) {
  contributionAnomalies(flag: $flag, first: $first, after: $after) {
    edges { node { kind period amount { amount currency } paidOn payerBin flags source
                   recordId } }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def test_contributions_after_death_are_flagged_and_listed_for_the_fund(
    client: httpx.AsyncClient, auth_service: AuthService, tidy: Tidy, people: list[Person]
) -> None:
    dead = people[0]
    dead.death_date = date(2026, 8, 31)
    tidy.db.add(dead)
    await tidy.db.commit()
    sender = await base.integrator(auth_service, tidy, Scope.CONTRIBUTIONS_WRITE)
    records = [base.self_payment(dead, period=p) for p in ("2026-08", "2026-09", "2026-10")]
    response = await base.post_file(client, "/ingest/contributions",
                                    base.ndjson([*records, base.self_payment(people[1])]),
                                    sender.token)
    summary = response.json()
    assert (summary["accepted"], summary["rejected"]) == (4, 0)
    assert summary["flaggedByFlag"] == {"AFTER_DEATH": 2}
    assert [(issue["line"], issue["code"], issue["flags"]) for issue in summary["issues"]] == [
        (2, None, ["AFTER_DEATH"]), (3, None, ["AFTER_DEATH"])]

    fund = await base.integrator(auth_service, tidy, Scope.STATS_READ)
    first = data(await graphql(client, ANOMALIES, {"first": 1},
                               token=fund.token))["contributionAnomalies"]
    assert [edge["node"] for edge in first["edges"]] == [{
        "kind": "self_payment", "period": "2026-10",
        "amount": {"amount": "4250.00", "currency": "KZT"}, "paidOn": "2026-11-10",
        "payerBin": None, "flags": ["AFTER_DEATH"], "source": sender.client_id,
        "recordId": records[2]["recordId"]}]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = data(await graphql(client, ANOMALIES, {"flag": "AFTER_DEATH",
                                                  "after": first["pageInfo"]["endCursor"]},
                              token=fund.token))["contributionAnomalies"]
    assert [edge["node"]["recordId"] for edge in rest["edges"]] == [records[1]["recordId"]]
    assert rest["pageInfo"]["hasNextPage"] is False


async def test_only_stats_readers_see_them_and_only_known_flags(
    client: httpx.AsyncClient, auth_service: AuthService, tidy: Tidy
) -> None:
    sender = await base.integrator(auth_service, tidy, Scope.CONTRIBUTIONS_WRITE)
    assert codes(await graphql(client, ANOMALIES, token=sender.token)) == ["FORBIDDEN"]
    assert codes(await graphql(client, ANOMALIES)) == ["UNAUTHENTICATED"]
    fund = await base.integrator(auth_service, tidy, Scope.STATS_READ)
    body = await graphql(client, ANOMALIES, {"flag": "SEX_MISMATCH"}, token=fund.token,
                         headers={"Accept-Language": "en"})
    assert codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["message"] == message("unknown_flag", flags="AFTER_DEATH")["en"]
