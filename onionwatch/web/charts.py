"""Charts drawn on the server as inline SVG: no script, no external asset, every label escaped."""
from __future__ import annotations

from html import escape

from markupsafe import Markup

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")
WIDTH, HEIGHT, LEFT, BOTTOM, TOP, RIGHT = 720, 260, 60, 40, 16, 150


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def line_chart(series: dict[str, list[tuple[str, float]]], title: str, unit: str = "USD") -> Markup:
    """One line per series over shared x labels (months or days, sorted as text)."""
    points = [(x, y) for values in series.values() for x, y in values if y is not None]
    if not points:
        return Markup('<p class="muted">no data to chart</p>')
    xs = sorted({x for x, _ in points})
    top = max(y for _, y in points) or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x):
        return LEFT + (xs.index(x) + 0.5) * plot_w / len(xs)

    def py(y):
        return TOP + plot_h - y / top * plot_h

    parts = [f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="#444"/>',
             f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#444"/>']
    for fraction in (0, 0.5, 1):
        y = py(top * fraction)
        parts.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="11">'
                     f'{escape(_fmt(top * fraction))}</text>')
    step = max(1, len(xs) // 8)
    for i, x in enumerate(xs):
        if i % step == 0:
            parts.append(f'<text x="{px(x):.1f}" y="{TOP + plot_h + 16}" text-anchor="middle" font-size="11">'
                         f'{escape(str(x))}</text>')
    parts.append(f'<text x="{LEFT - 50}" y="{TOP - 4}" font-size="11">{escape(unit)}</text>')
    for i, (name, values) in enumerate(list(series.items())[: len(PALETTE)]):
        colour = PALETTE[i]
        coords = [(px(x), py(y)) for x, y in sorted(values) if y is not None]
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        for x, y in coords:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>')
        parts.append(f'<rect x="{WIDTH - RIGHT + 10}" y="{TOP + i * 18}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{WIDTH - RIGHT + 24}" y="{TOP + i * 18 + 9}" font-size="11">'
                     f'{escape(str(name)[:22])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(rows: list[tuple[str, float]], title: str) -> Markup:
    """Horizontal bars, largest first as given."""
    rows = [(label, value) for label, value in rows if value is not None][:20]
    if not rows:
        return Markup('<p class="muted">no data to chart</p>')
    top = max(value for _, value in rows) or 1.0
    bar, label_w, plot_w = 18, 170, WIDTH - 170 - 70
    height = TOP + len(rows) * (bar + 4) + 8
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, (label, value) in enumerate(rows):
        y = TOP + i * (bar + 4)
        width = max(1.0, value / top * plot_w)
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" font-size="11">'
                     f'{escape(str(label)[:28])}</text>'
                     f'<rect x="{label_w}" y="{y}" width="{width:.1f}" height="{bar}" fill="{PALETTE[0]}"/>'
                     f'<text x="{label_w + width + 4:.1f}" y="{y + 13}" font-size="11">{escape(_fmt(value))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
