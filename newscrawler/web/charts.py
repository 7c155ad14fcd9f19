"""Charts as inline SVG made on the server: no script, no chart library, nothing fetched — the console works
offline and its Content-Security-Policy allows no script at all. Colours and sizes are SVG attributes
(the policy forbids inline style). Every label is escaped: portal names and field names come from data."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39")


def bar_chart(points: Sequence[tuple[str, int]], *, width: int = 720, height: int = 160, label: str = "") -> Markup:
    """Bars, oldest left; each bar's tooltip names its day and count; the first, middle and last day and the
    highest value are written along the axes."""
    if not points:
        return Markup('<p class="empty">no articles in this period</p>')
    pad_left, pad_bottom, pad_top = 44, 20, 8
    inner_w, inner_h = width - pad_left - 4, height - pad_bottom - pad_top
    top = max(v for _, v in points) or 1
    step = inner_w / len(points)
    parts = [f'<svg class="chart" role="img" aria-label="{escape(label)}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
             f'<line x1="{pad_left}" y1="{pad_top + inner_h}" x2="{width - 4}" y2="{pad_top + inner_h}" '
             'stroke="#999" stroke-width="1"/>',
             f'<text x="{pad_left - 6}" y="{pad_top + 10}" text-anchor="end" font-size="11" fill="#555">{top}</text>',
             f'<text x="{pad_left - 6}" y="{pad_top + inner_h}" text-anchor="end" font-size="11" fill="#555">0</text>']
    for i, (name, value) in enumerate(points):
        h = inner_h * value / top
        x = pad_left + i * step
        parts.append(f'<rect x="{x + 0.5:.1f}" y="{pad_top + inner_h - h:.1f}" width="{max(step - 1, 1):.1f}" '
                     f'height="{h:.1f}" fill="#1f77b4"><title>{escape(name)}: {value}</title></rect>')
    for i in sorted({0, len(points) // 2, len(points) - 1}):
        x = pad_left + i * step + step / 2
        anchor = "start" if i == 0 else "end" if i == len(points) - 1 else "middle"
        parts.append(f'<text x="{x:.1f}" y="{height - 4}" text-anchor="{anchor}" font-size="11" '
                     f'fill="#555">{escape(points[i][0])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(labels: Sequence[str], series: dict[str, Sequence[float | None]], *, width: int = 720,
               height: int = 220, label: str = "") -> Markup:
    """Lines of fractions (0..1) over `labels` (oldest first), one colour per series, with a legend."""
    if not labels or not series:
        return Markup('<p class="empty">nothing to chart yet</p>')
    pad_left, pad_bottom, pad_top, legend_w = 44, 20, 8, 150
    inner_w, inner_h = width - pad_left - legend_w - 8, height - pad_bottom - pad_top
    step = inner_w / max(len(labels) - 1, 1)
    parts = [f'<svg class="chart" role="img" aria-label="{escape(label)}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">']
    for frac in (0, 0.5, 1):
        y = pad_top + inner_h * (1 - frac)
        parts.append(f'<line x1="{pad_left}" y1="{y:.1f}" x2="{pad_left + inner_w}" y2="{y:.1f}" stroke="#ddd" '
                     'stroke-width="1"/>')
        parts.append(f'<text x="{pad_left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
                     f'fill="#555">{int(frac * 100)}%</text>')
    for k, (name, values) in enumerate(series.items()):
        colour = PALETTE[k % len(PALETTE)]
        points = [(pad_left + i * step, pad_top + inner_h * (1 - v)) for i, v in enumerate(values) if v is not None]
        if len(points) > 1:
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
                         + " ".join(f"{x:.1f},{y:.1f}" for x, y in points) + f'"><title>{escape(name)}</title>'
                         '</polyline>')
        for (x, y), v in zip(points, [v for v in values if v is not None], strict=True):
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"><title>{escape(name)}: '
                         f'{v:.0%}</title></circle>')
        ly = pad_top + 12 + k * 15
        lx = pad_left + inner_w + 14
        parts.append(f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{lx + 14}" y="{ly}" font-size="11" fill="#333">{escape(name)}</text>')
    for i in sorted({0, len(labels) // 2, len(labels) - 1}):
        x = pad_left + i * step
        anchor = "start" if i == 0 else "end" if i == len(labels) - 1 else "middle"
        parts.append(f'<text x="{x:.1f}" y="{height - 4}" text-anchor="{anchor}" font-size="11" '
                     f'fill="#555">{escape(labels[i])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
