"""What the HomeScreen benchmark measures and how it prints it (``bench/home_screen.py``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Load:
    """How wrk drives a server."""

    threads: int
    connections: int
    warmup: int
    duration: int
    people: int
    port: int
    timeout: int


@dataclass(frozen=True)
class Measure:
    """One measured wrk run against one server."""

    endpoint: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    error_detail: str
    cpu_ms: float | None


@dataclass(frozen=True)
class Facts:
    """What a demo database holds."""

    name: str
    size: str
    people: int
    contributions: int


# --- output --------------------------------------------------------------------------------


def _cpu(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def print_block(people: int, results: list[Measure], generator: str, load: Load) -> None:
    """The table of one size."""
    print(f"HomeScreen over HTTP, load generator: {generator} ({load.threads} thread"
          f"{'s' if load.threads > 1 else ''}, {load.connections} connections, "
          f"{load.duration} s, timeout {load.timeout} s), server: uvicorn 1 worker")
    print(f"{'people':<11}{'endpoint':<11}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'errors':>8}{'cpu ms/req':>12}")
    for result in results:
        print(f"{people:<11,}{result.endpoint:<11}{result.rps:>9,.0f}{result.p50_ms:>9.2f}"
              f"{result.p99_ms:>9.2f}{result.errors:>8}{_cpu(result.cpu_ms):>12}")
        if result.errors:
            print(f"{'':11}  errors in {result.endpoint}: {result.error_detail}")
    print(f"{'':11}ratio graphql/floor: {results[0].rps / results[1].rps:.2f}")
    print()


def print_summary(rows: list[tuple[Facts, list[Measure]]], generator: str) -> None:
    """All sizes side by side: throughput, tail latency and server CPU per request."""
    print(f"Summary ({generator}; cpu = the uvicorn process's CPU per request)")
    print(f"{'people':<11}{'contributions':>14}{'db size':>10}{'graphql r/s':>13}"
          f"{'floor r/s':>11}{'ratio':>7}{'gql p99':>9}{'floor p99':>10}"
          f"{'gql cpu':>9}{'floor cpu':>10}")
    for facts, (gql, floor) in rows:
        print(f"{facts.people:<11,}{facts.contributions:>14,}{facts.size:>10}"
              f"{gql.rps:>13,.0f}{floor.rps:>11,.0f}{gql.rps / floor.rps:>7.2f}"
              f"{gql.p99_ms:>9.2f}{floor.p99_ms:>10.2f}{_cpu(gql.cpu_ms):>9}"
              f"{_cpu(floor.cpu_ms):>10}")
    for index, name in ((0, "graphql"), (1, "raw floor")):
        costs = [results[index].cpu_ms for _, results in rows]
        known = [cost for cost in costs if cost is not None]
        if len(known) > 1:
            print(f"{name} server CPU per request across sizes: {min(known):.2f}–"
                  f"{max(known):.2f} ms (max/min {max(known) / min(known):.2f})")
