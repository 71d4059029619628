"""Geometry of the server-rendered SVG charts (drawn by the macros in ``templates/_charts.html``).

Pure functions: figures in, coordinates out, no Flask and no database, so the shapes are
tested on their own. Every chart is drawn in a ``viewBox`` ``WIDTH`` units wide: the SVG
scales to its container (360 px phones included) and prints as vectors. Colours are CSS
classes (``chart-series-N``), never inline styles: the content security policy allows no
``style`` attribute (docs/decisions.md, "Charts are server-rendered SVG").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

WIDTH = 360
ROW = 26  # height of one bar's row
BAR = 16  # the bar's own height within it
LABEL_WIDTH = 118  # left column for the labels
VALUE_WIDTH = 62  # right margin for the value written after the bar
NO_DATA = "no data"  # the value text of a bar with no figure at all (as the data tables say)
LABEL_CHARS = 17  # labels longer than this are shortened in the drawing (the table has them whole)


def short(label: str, limit: int = LABEL_CHARS) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def number_text(value: float) -> str:
    """A value as the bar's text: whole numbers without decimals, others with up to two."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


@dataclass(frozen=True)
class Segment:
    x: float
    width: float
    series: int  # colour class chart-series-N
    value: float
    name: str  # the series' name ("" for a plain bar)


@dataclass(frozen=True)
class Bar:
    label: str
    short_label: str
    value: float  # the whole bar (sum of its segments)
    text: str
    href: str | None
    y: float  # the bar's top
    height: float
    text_y: float  # baseline of the label and value texts
    value_x: float  # where the value text starts
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    series: tuple[str, ...]  # names of the stacked series (the legend); () for plain bars
    maximum: float

    @property
    def empty(self) -> bool:
        return not self.bars or self.maximum <= 0

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height}"


def stacked_bars(rows: Sequence[tuple[str, Sequence[float], str | None]], series: Sequence[str], *,
                 text: Callable[[float], str] = number_text, width: int = WIDTH) -> BarChart:
    """Horizontal bars, each the sum of its ``series`` values drawn side by side.

    ``rows``: ``(label, values per series, link or None)``. The longest bar fills the plot
    width (``width - LABEL_WIDTH - VALUE_WIDTH``); a negative or missing value draws nothing.
    A row whose values are all missing reads ``NO_DATA``: a rate of nothing is not 0 %.
    """
    totals = [sum(max(float(v or 0), 0.0) for v in values) for _, values, _ in rows]
    maximum = max(totals, default=0.0)
    plot = width - LABEL_WIDTH - VALUE_WIDTH
    scale = plot / maximum if maximum > 0 else 0.0
    bars = []
    for i, ((label, values, href), total) in enumerate(zip(rows, totals, strict=True)):
        top = i * ROW + (ROW - BAR) / 2
        x = float(LABEL_WIDTH)
        segments = []
        for j, value in enumerate(values):
            amount = max(float(value or 0), 0.0)
            if amount <= 0:
                continue
            length = round(amount * scale, 2)
            segments.append(Segment(round(x, 2), length, j, amount, series[j] if j < len(series) else ""))
            x += length
        shown = NO_DATA if values and all(v is None for v in values) else text(total)
        bars.append(Bar(label=label, short_label=short(label), value=total, text=shown, href=href,
                        y=round(top, 2), height=BAR, text_y=round(top + BAR - 4, 2), value_x=round(x + 4, 2),
                        segments=tuple(segments)))
    return BarChart(width=width, height=max(len(rows), 1) * ROW, bars=tuple(bars), series=tuple(series),
                    maximum=maximum)


def bars(rows: Sequence[tuple[str, float | None, str | None]], *, text: Callable[[float], str] = number_text,
         width: int = WIDTH) -> BarChart:
    """Plain horizontal bars: ``(label, value, link or None)`` each, the longest filling the plot."""
    return stacked_bars([(label, [value], href) for label, value, href in rows], (), text=text, width=width)


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    value: float


@dataclass(frozen=True)
class Tick:
    position: float
    text: str


@dataclass(frozen=True)
class DaySeries:
    width: int
    height: int
    lines: tuple[str, ...]  # SVG polyline "points", one per run of days with a value
    points: tuple[Point, ...]  # a marker per day with a value
    y_ticks: tuple[Tick, ...]  # y positions of the value grid lines
    x_ticks: tuple[Tick, ...]  # x positions of the day labels (first, middle, last)
    left: int
    right: int
    top: int
    bottom: int

    @property
    def empty(self) -> bool:
        return not self.points

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height}"


def day_series(points: Sequence[tuple[str, float | None]], *, maximum: float = 100.0, width: int = WIDTH,
               height: int = 170, text: Callable[[float], str] = lambda v: f"{v:g} %") -> DaySeries:
    """A line over days: ``(day label, value or None)`` in order. A day without a value breaks
    the line (no data is not zero); values are drawn on 0…``maximum`` (the larger of it and the
    data's maximum), with grid lines at 0, half and the top."""
    left, right, top, bottom = 40, width - 10, 12, height - 26
    top_value = max([maximum, *(float(v) for _, v in points if v is not None)])
    top_value = top_value if top_value > 0 else 1.0
    count = len(points)
    step = (right - left) / (count - 1) if count > 1 else 0.0

    def x_of(i: int) -> float:
        return round(left + i * step if count > 1 else (left + right) / 2, 2)

    def y_of(value: float) -> float:
        return round(bottom - (bottom - top) * float(value) / top_value, 2)

    lines, run, markers = [], [], []
    for i, (label, value) in enumerate(points):
        if value is None:
            if run:
                lines.append(" ".join(run))
            run = []
            continue
        x, y = x_of(i), y_of(value)
        run.append(f"{x:g},{y:g}")
        markers.append(Point(x, y, label, float(value)))
    if run:
        lines.append(" ".join(run))
    y_ticks = tuple(Tick(y_of(v), text(v)) for v in (0.0, top_value / 2, top_value))
    wanted = sorted({0, (count - 1) // 2, count - 1}) if count else []
    x_ticks = tuple(Tick(x_of(i), points[i][0]) for i in wanted)
    return DaySeries(width=width, height=height, lines=tuple(lines), points=tuple(markers), y_ticks=y_ticks,
                     x_ticks=x_ticks, left=left, right=right, top=top, bottom=bottom)


@dataclass(frozen=True)
class Line:
    name: str
    series: int  # colour class chart-series-N / chart-line-N
    lines: tuple[str, ...]
    points: tuple[Point, ...]


@dataclass(frozen=True)
class LineChart:
    """Several lines over the same days on one scale (``day_series`` for each, sharing its maximum)."""

    width: int
    height: int
    series: tuple[str, ...]  # the legend
    lines: tuple[Line, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    left: int
    right: int
    top: int
    bottom: int

    @property
    def empty(self) -> bool:
        return not any(line.points for line in self.lines)

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height}"


def day_lines(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *,
              text: Callable[[float], str] = number_text, width: int = WIDTH, height: int = 170) -> LineChart:
    """Lines over the days ``labels``: ``series`` is ``(name, one value or None per day)`` each.
    All share the scale 0…the largest value, so a p95 line is never drawn under its p50."""
    maximum = max((float(v) for _, values in series for v in values if v is not None), default=0.0)
    drawn = [day_series(list(zip(labels, values, strict=True)), maximum=maximum, width=width, height=height,
                        text=text) for _, values in series]
    frame = drawn[0] if drawn else day_series([(label, None) for label in labels], maximum=maximum, width=width,
                                              height=height, text=text)
    return LineChart(width=frame.width, height=frame.height, series=tuple(name for name, _ in series),
                     lines=tuple(Line(name, i, d.lines, d.points) for i, ((name, _), d) in
                                 enumerate(zip(series, drawn, strict=True))),
                     y_ticks=frame.y_ticks, x_ticks=frame.x_ticks, left=frame.left, right=frame.right,
                     top=frame.top, bottom=frame.bottom)


def money(value: float) -> str:
    return f"{value:,.0f}" if math.isfinite(value) else "–"
