"""Benchmark: HomeScreen's latency while anonymous clients loop the costliest query they may send.

    .venv/bin/python bench/cost.py                 # 10,000 people, both modes
    .venv/bin/python bench/cost.py --modes development --attackers 8

On the demo database of ``bench/home_screen.py`` (``mhi_bench_home_<people>``, loaded once),
for each mode it starts the real API under uvicorn on loopback (one worker, as
``bench/home_screen.py`` does) and:

1. picks the attack: among anonymous documents built to sit just under the anonymous cost cap
   (many help articles with every field, help searches, a field written as often as allowed),
   the one the server takes longest to answer alone (each must be *accepted*: no errors);
2. measures HomeScreen alone (wrk, ``--connections`` citizens with tokens of their own);
3. measures it again while ``--attackers`` anonymous connections send the attack in a loop
   as fast as the server answers them (a second wrk);
4. prints both p99s and their ratio (the target: within 2×), and what the issue's 199-copy
   document gets now (refused before validation).

Modes: ``development`` (documents allowed: the cost cap alone protects the server) and
``production`` (``APP_ENVIRONMENT=production``: the app's audiences send only the safelist's
operations by hash, so the attack is the costliest *safelisted* anonymous operation, HelpList
with ``first: 100``; HomeScreen is sent by hash too).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``bench`` and the project importable
    sys.path.insert(0, str(ROOT))

from graphql import parse  # noqa: E402

from backend.db.engine import resolve_database_url  # noqa: E402
from backend.gql.cost import estimate  # noqa: E402
from backend.gql.limits import Limits  # noqa: E402
from backend.gql.schema import build_schema  # noqa: E402
from backend.settings import AppSettings  # noqa: E402
from bench.home_screen import (  # noqa: E402
    OPERATION,
    cpu_seconds,
    database_url,
    ensure_demo,
    ensure_wrk,
    run_wrk,
    sample_people,
    server,
    write_inputs,
)
from bench.report import Load  # noqa: E402

ATTACK_LUA = """
-- One prepared anonymous POST sent in a loop; counts answers that are not 200 or carry errors.
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  local file = assert(io.open(args[1], "rb"))
  local body = file:read("*a")
  file:close()
  prepared = wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
  bad = 0
end
function request() return prepared end
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors":', 1, true) then bad = bad + 1 end
end
function done(summary, latency, requests)
  local refused = 0
  for _, thread in ipairs(threads) do refused = refused + (thread:get("bad") or 0) end
  io.write(string.format("ATTACK requests=%d refused=%d duration_us=%d p50_us=%d\\n",
                         summary.requests, refused, summary.duration, latency:percentile(50)))
end
"""
ARTICLE_FIELDS = "id slug title summary body tags updatedOn etag language audience order"
ISSUE_DOCUMENT = "query { " + " ".join(["helpArticles { edges { node { id } } }"] * 199) + " }"


def candidates(cap: int) -> dict[str, dict[str, Any]]:
    """Anonymous request bodies built to cost as much as ``cap`` allows, by kind."""
    schema = build_schema()._schema
    bodies: dict[str, dict[str, Any]] = {}
    per_page = None
    for first in range(100, 0, -1):
        page = f"helpArticles(first: {first}) {{ edges {{ cursor node {{ {ARTICLE_FIELDS} }} }} }}"
        if _cost(schema, "{ " + page + " }") <= cap:
            per_page = page
            break
    if per_page is not None:
        pages = [per_page]
        while _cost(schema, "{ " + _aliased([*pages, per_page]) + " }") <= cap:
            pages.append(per_page)
        bodies["help pages"] = {"query": "{ " + _aliased(pages) + " }"}
    node = f"edges {{ node {{ {ARTICLE_FIELDS} }} }}"
    searches = [f'searchHelp(query: "{word}", first: 50) {{ {node} }}'
                for word in ("а", "е", "о", "и", "a", "e", "o", "i", "n", "s", "t", "r", "l",
                             "c", "d")]
    chosen: list[str] = []
    for search in searches:
        if _cost(schema, "{ " + _aliased([*chosen, search]) + " }") > cap:
            break
        chosen.append(search)
    if chosen:
        bodies["help searches"] = {"query": "{ " + _aliased(chosen) + " }"}
    repeats = Limits().max_repeats
    bodies["repeated fields"] = {"query": "{ helpArticles(first: 100) { edges { node { "
                                          + " ".join(["body"] * repeats) + " } } } }"}
    return {name: body for name, body in bodies.items()
            if _cost(schema, body["query"]) <= cap}


def _aliased(fields: list[str]) -> str:
    return " ".join(f"a{index}: {field}" for index, field in enumerate(fields))


def _cost(schema: Any, query: str) -> int:
    done = estimate(schema, parse(query), None, None)
    return done[0].cost if done is not None else 0


def post(port: int, body: dict[str, Any], token: str | None = None) -> tuple[float, dict[str, Any]]:
    """One POST; (seconds, parsed answer)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", method="POST",
                                     data=json.dumps(body).encode(), headers=headers)
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        answer: dict[str, Any] = json.loads(response.read())
    return time.perf_counter() - started, answer


def costliest(port: int, pid: int, bodies: dict[str, dict[str, Any]], tries: int = 20
               ) -> tuple[str, dict[str, Any], float]:
    """The accepted body that costs the server the most CPU (its mean over ``tries``; wall
    time would mostly measure the anonymous pace's waits)."""
    spent: dict[str, float] = {}
    for name, body in bodies.items():
        _, answer = post(port, body)
        if "errors" in answer:
            print(f"  candidate {name!r} refused: {answer['errors'][0]['extensions']}")
            continue
        before = cpu_seconds(pid) or 0.0
        for _ in range(tries):
            post(port, body)
        spent[name] = ((cpu_seconds(pid) or 0.0) - before) / tries
        print(f"  candidate {name!r}: cost {answer['extensions']['cost']['requested']}, "
              f"{spent[name] * 1000:.1f} ms of server CPU each")
    if not spent:
        sys.exit("no candidate attack was accepted")
    name = max(spent, key=lambda key: spent[key])
    return name, bodies[name], spent[name]


def attack(port: int, body_file: Path, lua: Path, connections: int,
           seconds: int) -> subprocess.Popen[str]:
    """A wrk sending the attack in a loop from ``connections`` connections."""
    return subprocess.Popen(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout=30s", "-s", str(lua),
         f"http://127.0.0.1:{port}/graphql", "--", str(body_file)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def run_mode(mode: str, url: str, load: Load, attackers: int, folder: Path) -> dict[str, float]:
    """Idle and under-attack HomeScreen p99 in one mode (a server of its own)."""
    print(f"== {mode} ==", flush=True)
    people = asyncio.run(sample_people(url, load.people))
    tokens, home_body = write_inputs(folder, url, people, 3600)
    text = OPERATION.read_text(encoding="utf-8")
    sha = hashlib.sha256(text.encode()).hexdigest()
    if mode == "production":
        home_body.write_text(json.dumps({"extensions": {"persistedQuery": {
            "version": 1, "sha256Hash": sha}}}))
    lua = folder / "attack.lua"
    lua.write_text(ATTACK_LUA)
    saved = {key: os.environ.get(key) for key in ("APP_ENVIRONMENT", "AUTH_ENVIRONMENT")}
    os.environ["APP_ENVIRONMENT"] = mode
    # The API's rules are production's; identity stays as the demo database was made (its
    # signing keys are sealed with the development secret the tokens were minted with).
    os.environ["AUTH_ENVIRONMENT"] = "development"
    try:
        with server("bench.servers:graphql_app", url, load.port,
                    folder / f"{mode}.log") as pid:
            seconds, answer = post(load.port, {"query": ISSUE_DOCUMENT})
            print(f"  the issue's 199-copy document: {answer['errors'][0]['extensions']['code']}"
                  f" in {seconds * 1000:.1f} ms ({answer['extensions'].get('cost')})")
            name, body, alone = costliest(load.port, pid, _bodies(mode))
            print(f"  attack: {name!r} ({alone * 1000:.1f} ms of CPU each), {attackers} "
                  "connections", flush=True)
            attack_file = folder / "attack.json"
            attack_file.write_text(json.dumps(body))
            run_wrk(f"http://127.0.0.1:{load.port}/graphql", load, load.warmup, (tokens, home_body))
            idle = run_wrk(f"http://127.0.0.1:{load.port}/graphql", load, load.duration,
                           (tokens, home_body))
            attacker = attack(load.port, attack_file, lua, attackers, load.duration + 8)
            time.sleep(3)
            busy = run_wrk(f"http://127.0.0.1:{load.port}/graphql", load, load.duration,
                           (tokens, home_body))
            out, _ = attacker.communicate(timeout=120)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    numbers = _attack_numbers(out)
    attack_rps = numbers["requests"] * 1e6 / max(1, numbers["duration_us"])
    attack_refused = numbers["refused"]
    attack_p50 = numbers["p50_us"] / 1000
    result = {"idle_p99": idle["p99_us"] / 1000, "attack_p99": busy["p99_us"] / 1000,
              "idle_p50": idle["p50_us"] / 1000, "attack_p50": busy["p50_us"] / 1000,
              "idle_rps": idle["requests"] * 1e6 / idle["duration_us"],
              "attack_home_rps": busy["requests"] * 1e6 / busy["duration_us"],
              "attack_rps": attack_rps,
              "errors": sum(numbers[key] for numbers in (idle, busy)
                            for key in ("non200", "body_errors", "timeout"))}
    ratio = result["attack_p99"] / result["idle_p99"]
    print(f"  HomeScreen idle:         p50 {result['idle_p50']:.1f} ms, p99 "
          f"{result['idle_p99']:.1f} ms, {result['idle_rps']:.0f} req/s")
    print(f"  HomeScreen under attack: p50 {result['attack_p50']:.1f} ms, p99 "
          f"{result['attack_p99']:.1f} ms, {result['attack_home_rps']:.0f} req/s "
          f"(attackers: {attack_rps:.0f} answers/s, {attack_refused} of them refused, "
          f"p50 {attack_p50:.0f} ms)")
    print(f"  p99 ratio {ratio:.2f}× ({'within' if ratio <= 2 else 'NOT within'} 2×); "
          f"HomeScreen errors {result['errors']:.0f}", flush=True)
    result["ratio"] = ratio
    return result


def _bodies(mode: str) -> dict[str, dict[str, Any]]:
    if mode != "production":
        return candidates(Limits().cost_anonymous)
    listed = json.loads((ROOT / "mobile_contract" / "manifest.json").read_text())
    by_hash = {name: {"extensions": {"persistedQuery": {
        "version": 1, "sha256Hash": listed[name]["sha256"]}}} for name in listed}
    return {"HelpList first 100": {**by_hash["HelpList"], "variables": {"first": 100}},
            "HelpSearch": {**by_hash["HelpSearch"], "variables": {"query": "а"}}}


def _attack_numbers(output: str) -> dict[str, int]:
    line = next((x for x in output.splitlines() if x.startswith("ATTACK ")), None)
    if line is None:
        sys.exit(f"the attacking wrk failed:\n{output}")
    return {key: int(value) for key, value in (pair.split("=") for pair in line.split()[1:])}


def main() -> None:
    """Both modes in turn, then a summary."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=10_000, help="demo database size")
    parser.add_argument("--modes", default="development,production")
    parser.add_argument("--connections", type=int, default=4,
                        help="HomeScreen connections (citizens), default 4")
    parser.add_argument("--attackers", type=int, default=4,
                        help="anonymous connections looping the attack, default 4")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--port", type=int, default=18740)
    args = parser.parse_args()
    print(ensure_wrk(), flush=True)
    settings = AppSettings()
    url = database_url(resolve_database_url(settings), args.people)
    if not ensure_demo(url, args.people, settings.data_dir):
        sys.exit("the demo database is not ready")
    load = Load(1, args.connections, args.warmup, args.duration, 1000, args.port, 30)
    results = {}
    with tempfile.TemporaryDirectory(prefix="mhi-bench-cost-") as tmp:
        for mode in args.modes.split(","):
            results[mode] = run_mode(mode, url, load, args.attackers, Path(tmp))
    print("== summary: HomeScreen p99, idle → under attack ==")
    for mode, result in results.items():
        print(f"  {mode:<12} {result['idle_p99']:6.1f} ms → {result['attack_p99']:6.1f} ms  "
              f"{result['ratio']:.2f}×")


if __name__ == "__main__":
    main()
