"""PNG charts for mail, drawn with Pillow.

Mail clients do not show SVG (Outlook and most webmail strip it), so the digest carries PNG
images inline. They are drawn here rather than by rasterising the desk's SVG: a rasteriser
(cairosvg, resvg) brings a native library and a font setup of its own, while Pillow draws
the same bars in a few lines with the system's CJK font. Colours match responders.web.charts.

Drawn at twice the displayed size so they stay sharp on high-density screens; the HTML gives
the displayed width.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

SCALE = 2
# Fonts with Chinese glyphs, in order of preference (Debian: fonts-wqy-microhei,
# fonts-noto-cjk, fonts-wqy-zenhei). Without one the labels cannot show Chinese.
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
)
# The desk's colours (responders.web.charts.COLORS), repeated rather than imported: importing
# responders.web would load the whole web app into a worker that only sends mail.
COLORS = {"negative": "#c0392b", "neutral": "#95a5a6", "positive": "#27ae60"}
INK, GRID, MUTED, LINE = "#333333", "#dddddd", "#666666", "#2c3e50"
PREVIOUS = "#b8c4ce"
CURRENT = "#2e6da4"

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def font_path() -> str | None:
    for candidate in FONT_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    return None


@lru_cache(maxsize=16)
def _font(size: int) -> Font:
    path = font_path()
    if path is None:
        return ImageFont.load_default(size * SCALE)
    return ImageFont.truetype(path, size * SCALE)


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _text(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, size: int,
          fill: str = INK, anchor: str = "la") -> None:
    draw.text((xy[0] * SCALE, xy[1] * SCALE), text, font=_font(size), fill=fill,
              anchor=anchor)


def _rect(draw: ImageDraw.ImageDraw, x0: float, y0: float, x1: float, y1: float,
          fill: str) -> None:
    if x1 - x0 <= 0 or y1 - y0 <= 0:
        return
    draw.rectangle((x0 * SCALE, y0 * SCALE, x1 * SCALE, y1 * SCALE), fill=fill)


def _line(draw: ImageDraw.ImageDraw, points: Sequence[tuple[float, float]], fill: str,
          width: int = 1) -> None:
    draw.line([(x * SCALE, y * SCALE) for x, y in points], fill=fill, width=width * SCALE)


def _nice_peak(value: int) -> int:
    """The axis top: the value rounded up to 1, 2 or 5 × 10^k, so gridlines read easily."""
    if value <= 4:
        return 4
    magnitude = 1
    while magnitude * 10 < value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return value


def trend_png(days: Sequence[date], by_label: dict[str, list[int]],
              mean_score: Sequence[float | None], *, title: str, labels: dict[str, str],
              width: int = 600, height: int = 240) -> bytes:
    """Items per day stacked by sentiment, and the mean score (0 negative … 1 positive) as a
    line on the right axis — the desk's queue chart, for mail."""
    img = Image.new("RGB", (width * SCALE, height * SCALE), "white")
    draw = ImageDraw.Draw(img)
    left, right, top, bottom = 40, 36, 44, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(days), 1)
    totals = [sum(by_label.get(k, [0] * n)[i] for k in COLORS) for i in range(len(days))]
    peak = _nice_peak(max(totals + [1]))
    _text(draw, (left, 8), title, 14)
    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = top + plot_h * (1 - frac)
        _line(draw, [(left, y), (left + plot_w, y)], GRID)
        _text(draw, (left - 5, y), f"{round(peak * frac)}", 10, MUTED, "rm")
        _text(draw, (left + plot_w + 5, y), f"{frac:.2f}".rstrip("0").rstrip(".") or "0",
              10, LINE, "lm")
    step = plot_w / n
    bar_w = step * 0.6
    for i, day in enumerate(days):
        x = left + i * step + (step - bar_w) / 2
        base = float(top + plot_h)
        for key in ("negative", "neutral", "positive"):
            count = by_label.get(key, [0] * n)[i]
            h = plot_h * count / peak
            _rect(draw, x, base - h, x + bar_w, base, COLORS[key])
            base -= h
        if totals[i]:
            _text(draw, (x + bar_w / 2, base - 3), str(totals[i]), 9, MUTED, "md")
        _text(draw, (x + bar_w / 2, top + plot_h + 6), f"{day.month}/{day.day}", 10, MUTED,
              "ma")
    points = [(left + i * step + step / 2, top + plot_h * (1 - s))
              for i, s in enumerate(mean_score) if s is not None]
    if len(points) > 1:
        _line(draw, points, LINE, 2)
    for x, y in points:
        r = 3
        draw.ellipse(((x - r) * SCALE, (y - r) * SCALE, (x + r) * SCALE, (y + r) * SCALE),
                     fill=LINE)
    lx, ly = float(left), float(height - 14)
    for key in ("negative", "neutral", "positive"):
        _rect(draw, lx, ly - 5, lx + 10, ly + 5, COLORS[key])
        _text(draw, (lx + 14, ly), labels.get(key, key), 10, INK, "lm")
        lx += 70
    _line(draw, [(lx, ly), (lx + 16, ly)], LINE, 2)
    _text(draw, (lx + 20, ly), labels.get("mean", "mean"), 10, INK, "lm")
    return _png(img)


def compare_bars_png(rows: Sequence[tuple[str, int, int]], *, title: str,
                     current_label: str, previous_label: str, width: int = 600,
                     bar_h: int = 12) -> bytes:
    """Horizontal bars, one pair per row: this period (dark) over the previous one (light),
    with the counts at the bar ends. rows: (name, current, previous), drawn in order."""
    label_w, top, gap = 150, 34, 10
    height = top + max(len(rows), 1) * (2 * bar_h + gap) + 30
    img = Image.new("RGB", (width * SCALE, height * SCALE), "white")
    draw = ImageDraw.Draw(img)
    _text(draw, (10, 8), title, 14)
    plot_w = width - label_w - 50
    peak = max([max(c, p) for _, c, p in rows] + [1])
    y = float(top)
    for name, cur, prev in rows:
        _text(draw, (label_w - 8, y + bar_h), name, 11, INK, "rm")
        _rect(draw, label_w, y, label_w + plot_w * cur / peak, y + bar_h, CURRENT)
        _text(draw, (label_w + plot_w * cur / peak + 4, y + bar_h / 2), str(cur), 10, INK,
              "lm")
        y2 = y + bar_h + 1
        _rect(draw, label_w, y2, label_w + plot_w * prev / peak, y2 + bar_h - 2, PREVIOUS)
        _text(draw, (label_w + plot_w * prev / peak + 4, y2 + bar_h / 2 - 1), str(prev), 9,
              MUTED, "lm")
        y += 2 * bar_h + gap
    if not rows:
        _text(draw, (label_w, y + 4), "—", 11, MUTED)
    ly = height - 14
    _rect(draw, label_w, ly - 5, label_w + 10, ly + 5, CURRENT)
    _text(draw, (label_w + 14, ly), current_label, 10, INK, "lm")
    _rect(draw, label_w + 90, ly - 5, label_w + 100, ly + 5, PREVIOUS)
    _text(draw, (label_w + 104, ly), previous_label, 10, INK, "lm")
    return _png(img)
