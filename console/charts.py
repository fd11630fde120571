"""Charts drawn on the server as SVG (no JavaScript): the backlog by state and forms received per day."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from markupsafe import Markup

WIDTH, HEIGHT = 900, 240
LEFT, BOTTOM, TOP, RIGHT = 44, 28, 12, 8
# colours with at least 3:1 contrast against white (WCAG 1.4.11), told apart by the legend too
COLOURS = {"received": "#5a6b7d", "pending_review": "#1a4c80", "needs_info": "#a15c00"}


def _scale(maximum: int) -> tuple[int, list[int]]:
    """A round top for the axis and its ticks."""
    top = max(maximum, 1)
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000):
        if top / step <= 5:
            ceiling = -(-top // step) * step
            return ceiling, list(range(0, ceiling + 1, step))
    return top, [0, top]


def bar_chart(
    days: list[dict[str, Any]],
    series: list[str],
    value: Any,
    *,
    title: str,
    labels: dict[str, str],
    day_label: Any,
    chart_id: str,
    number: Callable[[int], str] = str,
    tip: Callable[[str, str, str], str] = lambda day, series, count: f"{day}: {series} {count}",
) -> Markup:
    """Stacked bars, one per day; value(day, name) -> int; labels name each series; day_label(iso) -> short date;
    number(n) -> the figure as the officer's locale writes it; tip(day, series, count) -> a bar's tooltip, in the officer's language."""
    totals = [sum(value(day, name) for name in series) for day in days]
    ceiling, ticks = _scale(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(days), 1)
    bar = max(slot * 0.7, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-labelledby="{chart_id}-title" focusable="false">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]
    for tick in ticks:
        y = TOP + plot_h - plot_h * tick / ceiling
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d0d4d9" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" fill="#333">{escape(number(tick))}</text>')
    for index, day in enumerate(days):
        x = LEFT + index * slot + (slot - bar) / 2
        y = TOP + plot_h
        for name in series:
            amount = value(day, name)
            if amount <= 0:
                continue
            height = plot_h * amount / ceiling
            y -= height
            text = tip(day_label(day["day"]), labels[name], number(amount))
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{height:.1f}" fill="{COLOURS.get(name, "#1a4c80")}">'
                f"<title>{escape(text)}</title></rect>"
            )
        if index % 5 == 0 or index == len(days) - 1:
            label = escape(day_label(day["day"]))
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle" font-size="12" fill="#333">{label}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape()
