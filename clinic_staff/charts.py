"""Small charts as geometry for inline SVG (drawn by ``templates/_charts.html``; no script).

Each function turns numbers into a :class:`Chart`: rectangles with a class (colours are in
the stylesheet), axis labels and a one-line description for screen readers.
"""

import datetime
import math
from dataclasses import dataclass, field
from typing import List, Sequence, Tuple

from clinic_staff.figures import DayOutcomes

WIDTH = 640
HEIGHT = 190
LEFT, RIGHT, TOP, BOTTOM = 40, 6, 10, 24
MAX_DAY_LABELS = 7
RANK_ROW = 26
RANK_LABEL_WIDTH = 190


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str  # shown as a tooltip


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass
class Chart:
    """One SVG's content."""

    description: str
    width: int = WIDTH
    height: int = HEIGHT
    rects: List[Rect] = field(default_factory=list)
    labels: List[Label] = field(default_factory=list)
    gridlines: List[float] = field(default_factory=list)  # y of horizontal lines

    @property
    def empty(self) -> bool:
        return not self.rects


def day_columns(
    description: str, days: Sequence[datetime.date], values: Sequence[int], unit: str
) -> Chart:
    """One column per day (conversations, requests)."""
    chart = Chart(description)
    top = _nice_ceiling(max(values, default=0))
    plot_height = HEIGHT - TOP - BOTTOM
    step = (WIDTH - LEFT - RIGHT) / max(len(days), 1)
    for fraction in (0.0, 0.5, 1.0):
        y = TOP + plot_height * (1 - fraction)
        chart.gridlines.append(y)
        chart.labels.append(Label(LEFT - 4, y + 4, _number(top * fraction), "end"))
    for index, (day, value) in enumerate(zip(days, values, strict=True)):
        if value:
            height = plot_height * value / top
            chart.rects.append(
                Rect(
                    LEFT + index * step + step * 0.15,
                    TOP + plot_height - height,
                    step * 0.7,
                    height,
                    "bar",
                    f"{day.isoformat()}: {value} {unit}",
                )
            )
    chart.labels.extend(_day_labels(days, step))
    return chart


def outcome_columns(description: str, outcomes: Sequence[DayOutcomes]) -> Chart:
    """Per day, the share of messages answered / not answered / not understood (100% columns)."""
    chart = Chart(description)
    plot_height = HEIGHT - TOP - BOTTOM
    step = (WIDTH - LEFT - RIGHT) / max(len(outcomes), 1)
    for fraction in (0.0, 0.5, 1.0):
        y = TOP + plot_height * (1 - fraction)
        chart.gridlines.append(y)
        chart.labels.append(Label(LEFT - 4, y + 4, f"{fraction:.0%}", "end"))
    for index, day in enumerate(outcomes):
        if not day.total:
            continue
        bottom = float(TOP + plot_height)
        for css, count, what in (
            ("answered", day.answered, "answered"),
            ("unknown", day.not_answered, "not answered"),
            ("fallback", day.not_understood, "not understood"),
        ):
            if not count:
                continue
            height = plot_height * count / day.total
            bottom -= height
            chart.rects.append(
                Rect(
                    LEFT + index * step + step * 0.15,
                    bottom,
                    step * 0.7,
                    height,
                    css,
                    f"{day.day.isoformat()}: {count} of {day.total} messages {what}",
                )
            )
    chart.labels.extend(_day_labels([day.day for day in outcomes], step))
    return chart


def ranking(description: str, items: Sequence[Tuple[str, int]]) -> Chart:
    """Horizontal bars, largest first (top questions)."""
    chart = Chart(description, height=max(RANK_ROW * len(items) + 4, RANK_ROW))
    largest = max((count for _, count in items), default=0)
    room = WIDTH - RANK_LABEL_WIDTH - 50
    for index, (label, count) in enumerate(items):
        y = 2 + index * RANK_ROW
        width = room * count / largest if largest else 0
        chart.labels.append(Label(RANK_LABEL_WIDTH - 8, y + 16, label, "end"))
        chart.rects.append(
            Rect(
                RANK_LABEL_WIDTH,
                y + 4,
                max(width, 1),
                RANK_ROW - 8,
                "bar",
                f"{label}: asked {count} times",
            )
        )
        chart.labels.append(Label(RANK_LABEL_WIDTH + width + 6, y + 16, str(count), "start"))
    return chart


def _day_labels(days: Sequence[datetime.date], step: float) -> List[Label]:
    every = max(1, math.ceil(len(days) / MAX_DAY_LABELS))
    return [
        Label(LEFT + index * step + step / 2, HEIGHT - 6, day.strftime("%d %b"))
        for index, day in enumerate(days)
        if index % every == 0 or index == len(days) - 1 and every == 1
    ]


def _nice_ceiling(value: int) -> int:
    """A round, even top for the axis (so its half is a whole number too); at least 2."""
    if value <= 2:
        return 2
    magnitude = 10 ** int(math.log10(value))
    for factor in (1, 2, 3, 4, 5, 6, 8, 10):
        top = factor * magnitude
        if top >= value and top % 2 == 0:
            return top
    return 20 * magnitude


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"
