"""Charts for the pages, drawn on the server as SVG text.

Written by hand rather than with a library: the analytics page needs two kinds of bar chart
(horizontal bars with one or two values per row, and vertical bars stacked by series), which
is a page of geometry. A plotting library would bring tens of megabytes (matplotlib), or a
JavaScript bundle to vendor and keep up to date (Chart.js, ECharts) for the same few bars,
while SVG written into the page needs no request, no CDN and no script, works offline, scales
on a phone and prints as sharply as the text around it.

Every chart is ``role="img"`` with an ``aria-label`` and a ``<title>``; every bar has a
``<title>`` (the browser's tooltip) with its exact value; the numbers themselves are in a table
under each chart on the page. Colours are the Okabe–Ito palette (told apart by people with
colour-blind vision) in alternating dark and light tones with white edges between stacked
parts, so the bars stay distinct in grey on paper. Every piece of text is escaped: stage,
department and people's names come from users.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif"
INK, MUTED, GRID, AXIS = "#1d2430", "#5d6776", "#e3e7ee", "#9aa3b2"
# Two values per row: dark and light of one hue, distinct in colour and in grey.
PAIR = ("#1f4e79", "#8fb8e0")
# Series: Okabe–Ito, ordered so neighbours differ in lightness as well as hue.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#7a5195", "#F0E442")
OTHER = "#a7adb7"
WARN = "#D55E00"  # what is late: vermillion, mid-dark in grey
# Characters XML 1.0 does not allow (a name pasted with control characters must not break the page).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def esc(text: object) -> str:
    """Text safe inside SVG (or HTML) element content and quoted attributes."""
    return html.escape(NOT_XML.sub("", str(text)), quote=True)


def shorten(text: str, chars: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= chars else text[: max(chars - 1, 1)].rstrip() + "…"


def text_width(text: str, size: float = 12) -> float:
    """About how wide ``text`` is drawn: no font metrics on the server, so an estimate on the
    wide side (capitals wider, spaces and punctuation narrower) that keeps labels off the edge."""
    width = 0.0
    for ch in text:
        if ch.isspace() or ch in ".,:;'!|()[]-":
            width += 0.33
        elif ch.isupper() or ch in "шщжмюЫ@%&—":
            width += 0.72
        else:
            width += 0.61
    return width * size


def plain(value: float) -> str:
    return f"{value:g}"


def nice_ticks(maximum: float, target: int = 5, *, integer: bool = False) -> list[float]:
    """Round axis steps (1, 2, 2.5, 5 × 10ⁿ) from 0 to at least ``maximum``."""
    if maximum <= 0 or not math.isfinite(maximum):
        return [0, 1]
    raw = maximum / target
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if integer:
        step = max(1, math.ceil(step))
    count = math.ceil(maximum / step - 1e-9)
    return [round(i * step, 10) for i in range(count + 1)]


def _svg(width: float, height: float, title: str, body: list[str], *, test: str = "") -> str:
    marker = f' data-chart="{esc(test)}"' if test else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
        f'height="{height:.0f}" role="img" aria-label="{esc(title)}" font-family="{esc(FONT)}" font-size="12" '
        f'fill="{INK}"{marker}><title>{esc(title)}</title>' + "".join(body) + "</svg>"
    )


def _no_data(title: str, empty_text: str, width: int, test: str) -> str:
    height = 80
    return _svg(width, height, title, [
        f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" rx="6" fill="#fafbfc" stroke="{GRID}"/>',
        f'<text x="{width / 2:.0f}" y="{height / 2 + 4:.0f}" text-anchor="middle" fill="{MUTED}" '
        f'data-empty="1">{esc(empty_text)}</text>',
    ], test=test)


def _legend(names: Sequence[str], colours: Sequence[str], x0: float, width: float, y0: float) -> tuple[list[str], float]:
    """Legend swatches wrapped over as many lines as they need; returns the parts and its height."""
    parts: list[str] = []
    x, y = x0, y0
    for name, colour in zip(names, colours, strict=True):
        label = shorten(name, 28)
        item = 18 + text_width(label) + 16
        if x > x0 and x + item > x0 + width:
            x, y = x0, y + 18
        parts.append(f'<g class="legend"><rect x="{x:.1f}" y="{y:.1f}" width="12" height="12" rx="2" fill="{colour}" '
                     f'stroke="{INK}" stroke-width="0.4"><title>{esc(name)}</title></rect>'
                     f'<text x="{x + 17:.1f}" y="{y + 10.5:.1f}">{esc(label)}</text></g>')
        x += item
    return parts, (y - y0) + 18


@dataclass
class Row:
    """One row of a horizontal bar chart: a label and one value per series."""

    label: str
    values: Sequence[float]
    note: str = ""  # more for the tooltip, e.g. "12 decisions"


def bar_chart(rows: Sequence[Row], series: Sequence[str], *, title: str, empty_text: str,
              value_text: Callable[[float], str] = plain, axis_text: Callable[[float], str] | None = None,
              axis_label: str = "", integer: bool = False, colours: Sequence[str] | None = None, width: int = 640,
              axis_floor: float = 0, test: str = "") -> str:
    """Horizontal bars, one group per row with a bar per series (e.g. median and 90th percentile),
    the value written at each bar's end, a legend on top and a value axis below."""
    if not rows:
        return _no_data(title, empty_text, width, test)
    axis_text = axis_text or value_text
    colours = colours or (PAIR if len(series) == 2 else PALETTE[: len(series)])
    chars = 34
    label_width = min(max(max(text_width(shorten(r.label, chars)) for r in rows) + 8, 70), 250)
    while chars > 8 and max(text_width(shorten(r.label, chars)) for r in rows) + 8 > label_width:
        chars -= 1  # shorten the labels until the longest fits its column (the tooltip has it whole)
    value_width = max(max(text_width(value_text(v), 11) for r in rows for v in r.values) + 10, 40)
    x0, x1 = label_width + 6, width - value_width - 4
    plot = x1 - x0
    legend, legend_height = _legend(series, colours, x0, x1 - x0, 6)
    bar = 16 if len(series) == 1 else 11
    band = len(series) * bar + (len(series) - 1) * 2 + 10
    top = 6 + legend_height + 6
    # The axis reaches at least ``axis_floor``: seconds-long decisions on an hours axis would
    # otherwise get ticks like 1e-06.
    ticks = nice_ticks(max(max((v for r in rows for v in r.values), default=0), axis_floor), integer=integer)
    scale = plot / ticks[-1]
    bottom = top + band * len(rows)
    height = bottom + 22 + (16 if axis_label else 0) + 4
    body = list(legend)
    for tick in ticks:  # the grid first, under the bars
        x = x0 + tick * scale
        body.append(f'<line x1="{x:.1f}" y1="{top - 2:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" stroke="{GRID}"/>')
        body.append(f'<text x="{x:.1f}" y="{bottom + 15:.1f}" text-anchor="middle" fill="{MUTED}" font-size="11">'
                    f'{esc(axis_text(tick))}</text>')
    body.append(f'<line x1="{x0:.1f}" y1="{top - 2:.1f}" x2="{x0:.1f}" y2="{bottom:.1f}" stroke="{AXIS}"/>')
    if axis_label:
        body.append(f'<text x="{x0 + plot / 2:.1f}" y="{bottom + 33:.1f}" text-anchor="middle" fill="{MUTED}" '
                    f'font-size="11">{esc(axis_label)}</text>')
    for i, row in enumerate(rows):
        y = top + i * band + 5
        label = shorten(row.label, chars)
        hint = f"{row.label} — {row.note}" if row.note else row.label
        body.append(f'<g class="row-label"><title>{esc(hint)}</title><text x="{label_width:.1f}" '
                    f'y="{y + (band - 10) / 2 + 4:.1f}" text-anchor="end">{esc(label)}</text></g>')
        for j, (name, value) in enumerate(zip(series, row.values, strict=True)):
            by = y + j * (bar + 2)
            length = max(value * scale, 0)
            text = value_text(value)
            tip = f"{row.label} — {name}: {text}" + (f" ({row.note})" if row.note else "")
            body.append(f'<rect x="{x0:.1f}" y="{by:.1f}" width="{max(length, 1):.1f}" height="{bar}" '
                        f'fill="{colours[j]}"><title>{esc(tip)}</title></rect>')
            body.append(f'<text x="{x0 + length + 4:.1f}" y="{by + bar / 2 + 4:.1f}" font-size="11">{esc(text)}</text>')
    return _svg(width, height, title, body, test=test)


@dataclass
class Series:
    """One stacked part of every column (e.g. a department), with its value per column."""

    label: str
    values: Sequence[float]
    colour: str | None = None


def stacked_chart(categories: Sequence[str], series: Sequence[Series], *, title: str, empty_text: str,
                  value_text: Callable[[float], str] = plain, axis_text: Callable[[float], str] | None = None,
                  tip_text: Callable[[float], str] | None = None, category_titles: Sequence[str] | None = None,
                  axis_label: str = "", width: int = 640, height: int = 320, test: str = "") -> str:
    """Vertical columns per category (e.g. ISO weeks) stacked by series (e.g. departments), each
    column's total written above it (``value_text``, short), a legend on top and a value axis on
    the left; tooltips give each part's exact value (``tip_text``)."""
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    if not categories or not series or not any(t > 0 for t in totals):
        return _no_data(title, empty_text, width, test)
    axis_text = axis_text or value_text
    tip_text = tip_text or value_text
    category_titles = category_titles or categories
    colours = [s.colour or PALETTE[i % len(PALETTE)] for i, s in enumerate(series)]
    ticks = nice_ticks(max(totals))
    left = max(max(text_width(axis_text(t), 11) for t in ticks) + 10, 40)
    x0, x1 = left + 4, width - 8
    legend, legend_height = _legend([s.label for s in series], colours, x0, x1 - x0, 6)
    top = 6 + legend_height + 18  # room for the total above the highest column
    bottom = height - 30 - (16 if axis_label else 0)
    plot_height = bottom - top
    scale = plot_height / ticks[-1]
    band = (x1 - x0) / len(categories)
    column = max(min(band * 0.7, 48), 2)
    label_every = max(1, math.ceil((max(text_width(c, 11) for c in categories) + 6) / max(band, 1)))
    totals_fit = band >= max(text_width(value_text(t), 10.5) for t in totals) + 2
    body = list(legend)
    for tick in ticks:
        y = bottom - tick * scale
        body.append(f'<line x1="{x0:.1f}" y1="{y:.1f}" x2="{x1:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(f'<text x="{x0 - 6:.1f}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}" font-size="11">'
                    f'{esc(axis_text(tick))}</text>')
    body.append(f'<line x1="{x0:.1f}" y1="{bottom:.1f}" x2="{x1:.1f}" y2="{bottom:.1f}" stroke="{AXIS}"/>')
    for i, category in enumerate(categories):
        cx = x0 + band * i + band / 2
        y = bottom
        body.append(f'<g class="column"><title>{esc(category_titles[i])}: {esc(tip_text(totals[i]))}</title>')
        for s, colour in zip(series, colours, strict=True):
            value = s.values[i]
            if value <= 0:
                continue
            h = value * scale
            y -= h
            tip = f"{category_titles[i]} — {s.label}: {tip_text(value)}"
            body.append(f'<rect x="{cx - column / 2:.1f}" y="{y:.1f}" width="{column:.1f}" height="{h:.2f}" '
                        f'fill="{colour}" stroke="#fff" stroke-width="0.8"><title>{esc(tip)}</title></rect>')
        body.append("</g>")
        if totals[i] > 0 and totals_fit:
            body.append(f'<text x="{cx:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="10.5">'
                        f'{esc(value_text(totals[i]))}</text>')
        if i % label_every == 0:
            body.append(f'<text x="{cx:.1f}" y="{bottom + 15:.1f}" text-anchor="middle" fill="{MUTED}" font-size="11">'
                        f'{esc(category)}</text>')
    if axis_label:
        body.append(f'<text x="{(x0 + x1) / 2:.1f}" y="{height - 6:.1f}" text-anchor="middle" fill="{MUTED}" '
                    f'font-size="11">{esc(axis_label)}</text>')
    return _svg(width, height, title, body, test=test)
