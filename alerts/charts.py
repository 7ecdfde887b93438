"""Small PNG charts for the digest (matplotlib, Agg backend: no display, no GUI toolkit)."""

from __future__ import annotations

import io
from datetime import datetime, tzinfo

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

BAR = "#2563eb"
BAR_NEG = "#dc2626"


def hourly_chart(hours: list[datetime], counts: list[int], negatives: list[int] | None, tz: tzinfo) -> bytes:
    """Mentions per hour over the digest window (negative ones stacked in red), 620×150 px."""
    fig, ax = plt.subplots(figsize=(6.2, 1.5), dpi=100)
    try:
        xs = list(range(len(hours)))
        if negatives is not None:
            other = [max(0, c - n) for c, n in zip(counts, negatives, strict=True)]
            ax.bar(xs, negatives, color=BAR_NEG, width=0.8, label="négatives")
            ax.bar(xs, other, bottom=negatives, color=BAR, width=0.8, label="autres")
            ax.legend(fontsize=7, frameon=False, loc="upper left", ncol=2)
        else:
            ax.bar(xs, counts, color=BAR, width=0.8)
        step = max(1, len(hours) // 6)
        ticks = xs[::step]
        ax.set_xticks(ticks)
        ax.set_xticklabels([hours[i].astimezone(tz).strftime("%Hh") for i in ticks], fontsize=8, color="#4b5563")
        ax.tick_params(axis="y", labelsize=8, colors="#4b5563")
        ax.set_xlim(-0.6, len(hours) - 0.4)
        ax.set_ylim(0, max(1, max(counts or [1])) * 1.15)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        for side in ("left", "bottom"):
            ax.spines[side].set_color("#d1d5db")
        ax.grid(axis="y", color="#f3f4f6")
        ax.set_axisbelow(True)
        fig.tight_layout(pad=0.4)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", facecolor="white")
        return buffer.getvalue()
    finally:
        plt.close(fig)
