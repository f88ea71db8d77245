"""Open data: the public figures as CSV and JSON files at month-versioned URLs.

- ``/open-data/`` lists the months that have ended and have figures, and each month's files;
- ``/open-data/{YYYY-MM}/{name}.csv`` and ``.json``: one month's table (``FILES``), the same
  numbers as ``Query.publicStats`` for that month (both call ``backend.transparency.figures``);
- ``/open-data/dictionary.json`` and ``.csv``: every file and column, described in kk/ru/en.

CSV: UTF-8, a header row, ``\\r\\n`` line ends (RFC 4180); a suppressed figure is an empty
field and the row's ``suppressed`` column says ``true``.  JSON: the same rows as objects, a
suppressed figure ``null``.  Amounts are tenge with two decimals.  The ETag (strong, a hash of
the bytes), ``If-None-Match`` → 304 and ``Cache-Control: public`` come from
``backend.api.etag``, like every cacheable answer; a month not ended, without figures, or a
file not listed is a 404 problem answer (``backend.api.problems``).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from backend.api.problems import problem
from backend.care.repository import ProviderRow
from backend.gql.context import language_from_header
from backend.i18n import LANGUAGES, Texts
from backend.months import month_start
from backend.reference.cache import ReferenceData
from backend.transparency import figures, texts
from backend.transparency.figures import STATUSES, Figure, figures_of

CSV_TYPE = "text/csv; charset=utf-8; header=present"
JSON_TYPE = "application/json"
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
NAME_COLUMNS = ("name_kk", "name_ru", "name_en")


@dataclass(frozen=True)
class FileSpec:
    """One file of a month: what it reads and its columns."""

    measure: str
    by: str
    columns: tuple[str, ...]


def _money(key: str, count: str) -> tuple[str, ...]:
    return ("month", key, *NAME_COLUMNS, count, "amount_kzt", "suppressed")


FILES: Mapping[str, FileSpec] = {
    "money-in-by-region": FileSpec(figures.MONEY_IN, "region", _money("region_code", "payments")),
    "money-in-by-kind": FileSpec(figures.MONEY_IN, "kind", _money("kind", "payments")),
    "money-in-by-payer-kind": FileSpec(figures.MONEY_IN, "payer_kind",
                                       _money("payer_kind", "payments")),
    "money-out-by-region": FileSpec(figures.MONEY_OUT, "region",
                                    _money("region_code", "services")),
    "money-out-by-package": FileSpec(figures.MONEY_OUT, "package", _money("package", "services")),
    "money-out-by-category": FileSpec(figures.MONEY_OUT, "category",
                                      _money("category", "services")),
    "money-out-by-provider": FileSpec(figures.MONEY_OUT, "provider", (
        "month", "provider_id", "bin", "region_code", "quality_zone", *NAME_COLUMNS,
        "services", "amount_kzt", "flags", "anomaly_rate", "cases", "dispute_rate",
        "suppressed")),
    "insured-by-region": FileSpec("insured", "region", (
        "month", "region_code", *NAME_COLUMNS, "insured", "conditionally_insured",
        "not_insured", "people", "suppressed")),
}
LABELS: Mapping[str, Mapping[str, Texts]] = {
    "kind": texts.KINDS, "payer_kind": texts.PAYER_KINDS, "package": texts.PACKAGES,
    "category": texts.CATEGORIES}
Row = dict[str, Any]


def _kzt(tiyn: int | None) -> str | None:
    if tiyn is None:
        return None
    sign = "-" if tiyn < 0 else ""
    return f"{sign}{abs(tiyn) // 100}.{abs(tiyn) % 100:02d}"


def _names(texts_: Texts) -> Row:
    return {f"name_{language}": texts_[language] for language in LANGUAGES}


def _money_row(month: str, key_column: str, key: str, names: Row, count_column: str,
               figure: Figure) -> Row:
    return {"month": month, key_column: key, **names, count_column: figure.count,
            "amount_kzt": _kzt(figure.amount_tiyn), "suppressed": figure.suppressed}


async def _money_rows(public: figures.PublicFigures, spec: FileSpec, month: date, today: date,
                      reference: ReferenceData) -> list[Row]:
    found = await figures.money(public, spec.measure, month, month, today, (spec.by,))
    table = found.tables[spec.by]
    key_column, count_column = spec.columns[1], spec.columns[5]
    shown = f"{month:%Y-%m}"
    rows = []
    for row in table.rows:
        if spec.by == "region":
            region = reference.regions.get(row.key)
            names = ({f"name_{lang}": region.name_in(lang) for lang in LANGUAGES}
                     if region is not None else dict.fromkeys(NAME_COLUMNS, row.key))
        else:
            names = _names(LABELS[spec.by].get(row.key, dict.fromkeys(LANGUAGES, row.key)))
        rows.append(_money_row(shown, key_column, row.key, names, count_column, row.figure))
    rows.append(_money_row(shown, key_column, "TOTAL", _names(texts.TOTAL), count_column,
                           table.total))
    return rows


async def _provider_rows(public: figures.PublicFigures, month: date, today: date) -> list[Row]:
    every = await public.fetch(
        "SELECT id, bin, region_code, quality_zone, name_kk, name_ru, name_en"
        " FROM core.provider ORDER BY region_code, bin")
    providers = [ProviderRow(row["id"], row["bin"], row["region_code"], row["quality_zone"],
                             row["name_kk"], row["name_ru"], row["name_en"]) for row in every]
    found = await figures.providers(public, providers, month, month, today)
    return [{"month": f"{month:%Y-%m}", "provider_id": str(item.provider.id),
             "bin": item.provider.bin, "region_code": item.provider.region_code,
             "quality_zone": item.provider.quality_zone,
             **{f"name_{lang}": item.provider.name_in(lang) for lang in LANGUAGES},
             "services": item.money.count, "amount_kzt": _kzt(item.money.amount_tiyn),
             "flags": item.flags, "anomaly_rate": item.anomaly_rate, "cases": item.cases,
             "dispute_rate": item.dispute_rate,
             "suppressed": None in (item.money.count, item.flags, item.cases)}
            for item in found]


async def _insured_rows(public: figures.PublicFigures, month: date,
                        reference: ReferenceData) -> list[Row] | None:
    found = await figures.insured(public, month, await public.regions())
    if found is None or not found.final:
        return None
    shown = f"{month:%Y-%m}"

    def row(key: str, names: Row, by_status: Mapping[str, int | None], total: int | None
            ) -> Row:
        counts = {status.lower(): by_status[status] for status in STATUSES}
        return {"month": shown, "region_code": key, **names, **counts, "people": total,
                "suppressed": None in (*counts.values(), total)}

    rows = []
    for item in found.rows:
        region = reference.regions.get(item.key)
        names = ({f"name_{lang}": region.name_in(lang) for lang in LANGUAGES}
                 if region is not None else dict.fromkeys(NAME_COLUMNS, item.key))
        rows.append(row(item.key, names, item.by_status, item.total))
    rows.append(row("TOTAL", _names(texts.TOTAL), found.by_status, found.total))
    return rows


async def file_rows(public: figures.PublicFigures, name: str, month: date, today: date,
                    reference: ReferenceData) -> list[Row] | None:
    """The rows of file ``name`` for ``month`` (None: the file does not exist for it)."""
    spec = FILES[name]
    if spec.measure == "insured":
        return await _insured_rows(public, month, reference)
    if spec.by == "provider":
        return await _provider_rows(public, month, today)
    return await _money_rows(public, spec, month, today, reference)


async def published_months(public: figures.PublicFigures, today: date) -> list[date]:
    """Months that have ended and have money figures, newest first."""
    ended = month_start(today)
    return sorted((m for m in await figures.months_with_data(public, today) if m < ended),
                  reverse=True)


async def _has_insured(public: figures.PublicFigures, month: date) -> bool:
    rows = await public.fetch("SELECT bool_and(final) AS final FROM stats.insured"
                              " WHERE month = $1", month)
    return bool(rows and rows[0]["final"])


def to_csv(columns: Sequence[str], rows: Sequence[Row]) -> bytes:
    """CSV with a header row: empty fields for None, ``true``/``false`` for booleans."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row[c] is None else str(row[c]).lower()
                         if isinstance(row[c], bool) else row[c] for c in columns])
    return buffer.getvalue().encode("utf-8")


def to_json(document: object) -> bytes:
    """Compact, UTF-8 JSON (names stay readable)."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def dictionary() -> list[Row]:
    """Every column of every file, described in kk/ru/en."""
    return [{"file": name, "column": column, "file_description_kk": texts.FILES[name]["kk"],
             "file_description_ru": texts.FILES[name]["ru"],
             "file_description_en": texts.FILES[name]["en"],
             **{f"description_{lang}": texts.COLUMNS[column][lang] for lang in LANGUAGES}}
            for name, spec in FILES.items() for column in spec.columns]


DICTIONARY_COLUMNS = ("file", "column", "file_description_kk", "file_description_ru",
                      "file_description_en", "description_kk", "description_ru",
                      "description_en")


def _month_of(text: str) -> date | None:
    match = MONTH.match(text)
    if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1:
        return None
    return date(int(match[1]), int(match[2]), 1)


def add_open_data(app: FastAPI, today: Callable[[], date]) -> None:
    """The open-data routes (see the module's docstring)."""

    def not_found(request: Request) -> Response:
        language = language_from_header(request.headers.get("accept-language"))
        return problem(404, "NOT_FOUND", texts.NOT_PUBLISHED[language])

    @app.get("/open-data/", include_in_schema=False)
    async def index(request: Request) -> Response:
        public = figures_of(request.app.state.runtime.reads)
        months = []
        for month in await published_months(public, today()):
            names = [n for n in FILES if FILES[n].measure != "insured"
                     or await _has_insured(public, month)]
            months.append({"month": f"{month:%Y-%m}", "files": [
                {"name": n, "csv": f"/open-data/{month:%Y-%m}/{n}.csv",
                 "json": f"/open-data/{month:%Y-%m}/{n}.json"} for n in names]})
        body = {"description": {"kk": "Қордың ашық деректері: ай сайынғы кестелер.",
                                "ru": "Открытые данные Фонда: таблицы по месяцам.",
                                "en": "The Fund's open data: tables by month."},
                "dictionary": {"csv": "/open-data/dictionary.csv",
                               "json": "/open-data/dictionary.json"},
                "months": months}
        return Response(to_json(body), media_type=JSON_TYPE)

    @app.get("/open-data/dictionary.{extension}", include_in_schema=False)
    async def data_dictionary(request: Request, extension: str) -> Response:
        if extension == "csv":
            return Response(to_csv(DICTIONARY_COLUMNS, dictionary()), media_type=CSV_TYPE)
        if extension == "json":
            return Response(to_json({"files": [
                {"name": n, "description": dict(texts.FILES[n]), "columns": [
                    {"name": c, "description": dict(texts.COLUMNS[c])} for c in spec.columns]}
                for n, spec in FILES.items()]}), media_type=JSON_TYPE)
        return not_found(request)

    @app.get("/open-data/{month}/{file}", include_in_schema=False)
    async def month_file(request: Request, month: str, file: str) -> Response:
        name, _, extension = file.rpartition(".")
        chosen = _month_of(month)
        public = figures_of(request.app.state.runtime.reads)
        now = today()
        if (chosen is None or name not in FILES or extension not in ("csv", "json")
                or chosen >= month_start(now)
                or chosen not in await figures.months_with_data(public, now)):
            return not_found(request)
        runtime = request.app.state.runtime
        rows = await file_rows(public, name, chosen, now, await runtime.reference.get())
        if rows is None:
            return not_found(request)
        columns = FILES[name].columns
        if extension == "csv":
            return Response(to_csv(columns, rows), media_type=CSV_TYPE)
        return Response(to_json({"file": name, "month": month, "columns": list(columns),
                                 "rows": rows}), media_type=JSON_TYPE)

