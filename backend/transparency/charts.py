"""The page's charts: bar charts drawn on the server by pygal, as SVG inlined in the page.

Why pygal: it draws SVG in Python, so a chart needs no script at all (the page works without
JavaScript, charts included, and nothing is fetched from elsewhere); it is maintained (3.1.3,
2026) and runs on Python 3.11; it is one small pure-Python wheel (LGPL-3.0+, used unmodified
as a library).  A JavaScript library (Chart.js, ECharts) would draw on a canvas only after a
script ran, and would need its files installed by npm and served like GraphiQL's.

What pygal writes that the pages' CSP forbids, or that would make each rendering differ, is
taken out here: its ``<style>`` and configuration ``<script>`` (the look comes from our own
stylesheet, ``static/transparency.css``, by pygal's class names), ``style`` attributes, the
tooltip layer its script would fill, and its random chart id (an ETag needs the same bytes
for the same figures).  The SVG is ``role="img"`` named by the figure's caption; the numbers
themselves are in the table beside every chart.
"""

from __future__ import annotations

import functools
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pygal
from markupsafe import Markup
from pygal.style import Style

from backend.transparency.page_texts import SCALES, decimal, number

# pygal puts a finder for its map plugins on ``sys.meta_path`` when imported, of the old kind
# (``find_module``, no ``find_spec``): whatever walks the path calling ``find_spec`` (pytest's
# importlib mode) fails on it.  The page draws no map, so it is taken off again.
sys.meta_path[:] = [finder for finder in sys.meta_path
                    if not isinstance(finder, pygal.PluginImportFixer)]

SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"
ET.register_namespace("", SVG)
ET.register_namespace("xlink", XLINK)
FONT = 'system-ui, "Segoe UI", Roboto, "Noto Sans", Arial, sans-serif'
LABEL_SIZE = 14
LEGEND_SIZE = 15
STYLE = Style(font_family=FONT, label_font_size=LABEL_SIZE, major_label_font_size=LABEL_SIZE,
              legend_font_size=LEGEND_SIZE, title_font_size=16, value_font_size=LABEL_SIZE,
              tooltip_font_size=LABEL_SIZE, no_data_font_size=LEGEND_SIZE,
              colors=("#0b5394", "#b34700"))
"""Font sizes pygal lays the chart out with (the stylesheet draws text at the same sizes);
the colours are the stylesheet's too (``--in``, ``--out``)."""
SCALE_ORDER = (1_000_000_000, 1_000_000, 1_000, 1)


@dataclass(frozen=True)
class Series:
    """One series of bars: its name (the legend) and its values in tiyn, None where the
    figure is withheld (no bar is drawn: a withheld figure is not zero)."""

    name: str
    values: Sequence[int | None]


@dataclass(frozen=True)
class Chart:
    """A chart drawn twice: ``wide`` for a screen, ``narrow`` (horizontal bars, bigger
    text for its size) for a phone; the stylesheet shows one.  ``unit``: of the money axis
    ("million ₸")."""

    wide: Markup
    narrow: Markup
    unit: str


def scale_of(series: Sequence[Series]) -> int:
    """How many tenge one unit of the axis counts: the largest of a billion, a million, a
    thousand or one that the biggest figure reaches."""
    biggest = max((abs(v) for s in series for v in s.values if v is not None), default=0)
    tenge = biggest / 100
    return next((scale for scale in SCALE_ORDER if tenge >= scale), 1)


def _axis_label(language: str) -> Callable[[float], str]:
    def label(value: float) -> str:
        if value == int(value):
            return number(int(value), language)
        return decimal(value, language, 1)
    return label


def bar_chart(*, chart_id: str, labels: Sequence[str], series: Sequence[Series],
              language: str, labelled_by: str, horizontal: bool = False,
              short_labels: Sequence[str] | None = None,
              narrow_labels: Sequence[str] | None = None) -> Chart:
    """A bar chart of money (grouped bars, one group per label), as inline SVG: wide
    (vertical bars unless ``horizontal``; ``short_labels`` under them) and narrow (with
    ``narrow_labels`` when given).

    A chart is a function of its arguments alone (the same figures draw the same bytes), and
    drawing one takes pygal tens of milliseconds, so the last ``CHARTS_KEPT`` are kept: the
    page draws a chart again only when its figures or its language change."""
    return _bar_chart(chart_id, tuple(labels),
                      tuple(Series(each.name, tuple(each.values)) for each in series),
                      language, labelled_by, horizontal,
                      None if short_labels is None else tuple(short_labels),
                      None if narrow_labels is None else tuple(narrow_labels))


CHARTS_KEPT = 64
"""Charts kept per process (a page draws two; a language, a period, a filter each their own)."""


@functools.lru_cache(maxsize=CHARTS_KEPT)
def _bar_chart(chart_id: str, labels: tuple[str, ...], series: tuple[Series, ...],
               language: str, labelled_by: str, horizontal: bool,
               short_labels: tuple[str, ...] | None,
               narrow_labels: tuple[str, ...] | None) -> Chart:
    scale = scale_of(series)
    unit = SCALES[str(scale)][language]
    named = [Series(f"{each.name}, {unit}", each.values) for each in series]
    group = 16 + 18 * len(series)
    draw = _Drawing(named, scale, language, labelled_by)
    if horizontal:
        wide = draw(f"{chart_id}-wide", labels, horizontal=True, width=720,
                    height=110 + group * len(labels))
    else:
        wide = draw(f"{chart_id}-wide", short_labels or labels, horizontal=False, width=720,
                    height=400)
    narrow = draw(f"{chart_id}-narrow", narrow_labels or labels, horizontal=True, width=380,
                  height=120 + group * len(labels))
    return Chart(wide, narrow, unit)


@dataclass(frozen=True)
class _Drawing:
    """The series of one chart, ready to be drawn at any size."""

    series: Sequence[Series]
    scale: int
    language: str
    labelled_by: str

    def __call__(self, chart_id: str, labels: Sequence[str], *, horizontal: bool, width: int,
                 height: int) -> Markup:
        narrow = width < 500
        kind = pygal.HorizontalBar if horizontal else pygal.Bar
        chart = kind(
            style=STYLE, width=width, height=height, explicit_size=False, js=[],
            disable_xml_declaration=True, legend_at_bottom=True,
            legend_at_bottom_columns=1 if narrow else len(self.series),
            show_x_guides=horizontal, show_y_guides=not horizontal,
            value_formatter=_axis_label(self.language), max_scale=5 if narrow else 16,
            print_values=False, margin=12, spacing=12, truncate_label=-1, truncate_legend=-1,
            no_data_text="—")
        # A horizontal chart draws its first label at the bottom: reversed, it reads top down.
        order = list(reversed(range(len(labels)))) if horizontal else list(range(len(labels)))
        chart.x_labels = [labels[i] for i in order]
        for each in self.series:
            chart.add(each.name, [_in_units(each.values[i], self.scale) for i in order])
        return clean_svg(chart.render(is_unicode=True), chart_id, self.labelled_by)


def _in_units(tiyn: int | None, scale: int) -> float | None:
    """Tiyn in units of the axis (a bar's length: the exact figure is in the table)."""
    return None if tiyn is None else tiyn / 100 / scale


def clean_svg(svg: str, chart_id: str, labelled_by: str) -> Markup:
    """pygal's SVG without what the CSP forbids or what differs on every rendering, named
    for assistive technology by the element ``labelled_by``."""
    root = ET.fromstring(svg)  # noqa: S314 (pygal's own output, never a visitor's)
    for parent in list(root.iter()):
        for child in list(parent):
            tag = child.tag.rsplit("}", 1)[-1]
            classes = child.get("class", "").split()
            if tag in ("defs", "script", "style", "title") or "tooltip-overlay" in classes:
                parent.remove(child)
    for element in root.iter():
        element.attrib.pop("style", None)
    root.attrib.update({"id": chart_id, "class": "pygal-chart chart", "role": "img",
                        "aria-labelledby": labelled_by, "focusable": "false"})
    return Markup(ET.tostring(root, encoding="unicode"))  # noqa: S704 (escaped by ElementTree)
