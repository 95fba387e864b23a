"""Geometry of the studio's earnings chart: one bar per UTC day, scaled to the tallest."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

CHART_WIDTH = 720
CHART_HEIGHT = 160


@dataclass(frozen=True)
class DayBar:
    day: datetime.date
    diamonds: int
    x: int = 0
    height: int = 0
    y: int = 0


def draw_bars(bars: list[DayBar]) -> tuple[list[DayBar], int]:
    """The bars placed and scaled (a day with earnings is at least one pixel tall), and the
    tallest bar's diamonds."""
    top = max((bar.diamonds for bar in bars), default=0)
    slot = CHART_WIDTH // max(len(bars), 1)
    drawn = []
    for i, bar in enumerate(bars):
        height = 0 if top <= 0 or bar.diamonds <= 0 else max(1, bar.diamonds * CHART_HEIGHT // top)
        drawn.append(
            DayBar(day=bar.day, diamonds=bar.diamonds, x=i * slot, height=height, y=CHART_HEIGHT - height)
        )
    return drawn, top


def chart_frame(days: int) -> dict[str, Any]:
    """The chart's size and the width of one day's bar, for the template."""
    return {"width": CHART_WIDTH, "height": CHART_HEIGHT, "bar_width": max(CHART_WIDTH // days - 2, 1)}
