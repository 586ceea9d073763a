"""回应效果's chart: items per hour before and after the first response, as bars on either
side of a line at the response. SVG with presentation attributes only (the CSP forbids
inline styles), like responders.web.charts."""

from __future__ import annotations

from xml.sax.saxutils import escape

from responders.effect import Effect

BEFORE, AFTER, LINE = "#7f8c8d", "#2980b9", "#c0392b"


def effect_svg(effect: Effect, *, title: str, before: str, after: str,
               width: int = 480, height: int = 150) -> str:
    left, right, top, bottom = 30, 10, 24, 22
    plot_w, plot_h = width - left - right, height - top - bottom
    bars = [(n, BEFORE, f"{before} -{len(effect.before.per_hour) - i}h")
            for i, n in enumerate(effect.before.per_hour)]
    bars += [(n, AFTER, f"{after} +{i}h") for i, n in enumerate(effect.after.per_hour)]
    peak = max([n for n, _, _ in bars] + [1])
    step = plot_w / max(len(bars), 1)
    bar_w = min(max(step * 0.75, 1.0), 24.0)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'role="img" aria-label="{escape(title)}" class="chart effect-chart">',
           f'<title>{escape(title)}</title>',
           f'<text x="{left}" y="14" font-size="12" fill="#333">{escape(title)}</text>',
           f'<text x="{left - 4}" y="{top + 4}" font-size="10" fill="#666" '
           f'text-anchor="end">{peak}</text>',
           f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
           'stroke="#ddd" stroke-width="1"/>']
    for i, (n, color, label) in enumerate(bars):
        h = plot_h * n / peak
        x = left + i * step + (step - bar_w) / 2
        out.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" '
                   f'height="{h:.1f}" fill="{color}"><title>{escape(label)}: {n}</title></rect>')
    x0 = left + len(effect.before.per_hour) * step
    out.append(f'<line x1="{x0:.1f}" y1="{top - 4}" x2="{x0:.1f}" y2="{top + plot_h}" '
               f'stroke="{LINE}" stroke-width="1.5" stroke-dasharray="3 2"/>')
    out.append(f'<text x="{left}" y="{height - 6}" font-size="10" fill="{BEFORE}">'
               f'{escape(before)}</text>')
    out.append(f'<text x="{left + plot_w}" y="{height - 6}" font-size="10" fill="{AFTER}" '
               f'text-anchor="end">{escape(after)}</text>')
    out.append("</svg>")
    return "".join(out)
