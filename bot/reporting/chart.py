"""The digest's chart: a small PNG of the trend, drawn on the server (matplotlib, Agg).

No display and no browser are needed: the Agg backend renders to bytes, which
the digest attaches (Slack uploads them, Teams shows them inline, the console
saves them) and the dashboard serves. The image is reduced to a 32-colour
palette so it stays well under Teams' 28 KB per activity once base64-encoded.
"""

from __future__ import annotations

import io
import threading
from functools import lru_cache

from bot.i18n import Tr
from bot.reporting.periods import Period

# matplotlib's font cache and text layout are not thread-safe.
_LOCK = threading.Lock()
INK = "#1f4e79"
SOFT = "#9dc3e6"


def trend_png(points: list[tuple[Period, int, int]], opted_in: int, tr: Tr, title: str) -> bytes:
    """Bars of active ambassadors per week, labelled with their share of those opted in."""
    rows = tuple((p.start.strftime("%d/%m"), active) for p, active, _ in points)
    shares = tuple(tr("{share:.0%}", share=a / opted_in) if opted_in else "" for _, a in rows)
    return _draw(rows, shares, title)


@lru_cache(maxsize=256)
def _draw(rows: tuple[tuple[str, int], ...], shares: tuple[str, ...], title: str) -> bytes:
    """The PNG for these figures (the same figures are drawn once per process)."""
    # Imported on the first chart, not at start-up: matplotlib, numpy and Pillow weigh
    # about 40 MB, which a replica that never draws (no digest due) need not carry.
    import matplotlib

    matplotlib.use("Agg")  # before anything draws: never a display
    from matplotlib.figure import Figure
    from PIL import Image

    labels = [label for label, _ in rows]
    active = [count for _, count in rows]
    with _LOCK:
        figure = Figure(figsize=(5.2, 2.4), dpi=90)
        axis = figure.add_subplot()
        bars = axis.bar(labels, active, color=SOFT, edgecolor=INK, linewidth=0.6)
        for bar, share in zip(bars, shares, strict=True):
            axis.annotate(
                share,
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=7,
                color=INK,
            )
        axis.set_ylim(0, max([*active, 1]) * 1.3)
        axis.set_title(title, fontsize=9, loc="left", color=INK)
        for side in ("top", "right"):
            axis.spines[side].set_visible(False)
        axis.tick_params(labelsize=7)
        figure.tight_layout()
        drawn = io.BytesIO()
        figure.savefig(drawn, format="png")
    drawn.seek(0)
    small = Image.open(drawn).convert("RGB").quantize(colors=32)
    out = io.BytesIO()
    small.save(out, format="PNG", optimize=True)
    return out.getvalue()
