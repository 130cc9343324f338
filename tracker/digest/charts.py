"""Charts for the Board, drawn on the server with matplotlib: SVG for the desk, PNG for the
weekly digest mail (Outlook shows no SVG). Each chart is a `Chart` value (title, labels,
series of numbers), the same value the page shows as a table beside the picture, so the two
cannot disagree.

The SVG carries its own <title> and <desc> (role="img"), and the page's <img> says what the
chart shows and that its numbers are in the table next to it.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from html import escape

import matplotlib

matplotlib.use("Agg")  # no display, no GUI toolkit: files only
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

# Colours from the GOV.UK palette, in an order that stays distinguishable for the common
# colour-vision deficiencies; bars also differ by hatching when stacked.
COLOURS = ("#1d70b8", "#f47738", "#00703c", "#912b88", "#505a5f", "#d4351c", "#28a197")
HATCHES = ("", "//", "..", "xx", "\\\\", "--", "++")


@dataclass(frozen=True)
class Chart:
    name: str  # in the URL: /reports/charts/<name>.svg
    title: str
    kind: str  # "bar" | "stacked" | "line"
    labels: tuple[str, ...]  # along the bottom
    series: tuple[tuple[str, tuple[float, ...]], ...]  # (name, one value per label)
    unit: str = "cases"
    note: str = ""

    @property
    def description(self) -> str:
        return f"{self.title}. {self.note} The numbers are in the table beside the chart.".replace("  ", " ")


def _figure(chart: Chart):
    fig, ax = plt.subplots(figsize=(7.5, 3.6), dpi=100)
    x = range(len(chart.labels))
    if chart.kind == "line":
        for i, (name, values) in enumerate(chart.series):
            ax.plot(list(x), values, marker="o", color=COLOURS[i % len(COLOURS)], label=name, linewidth=2)
    elif chart.kind == "stacked":
        bottom = [0.0] * len(chart.labels)
        for i, (name, values) in enumerate(chart.series):
            ax.bar(list(x), values, bottom=bottom, color=COLOURS[i % len(COLOURS)], label=name,
                   hatch=HATCHES[i % len(HATCHES)], edgecolor="white", linewidth=0.5)
            bottom = [b + v for b, v in zip(bottom, values)]
    else:
        width = 0.8 / max(1, len(chart.series))
        for i, (name, values) in enumerate(chart.series):
            ax.bar([p + i * width - 0.4 + width / 2 for p in x], values, width=width,
                   color=COLOURS[i % len(COLOURS)], label=name, hatch=HATCHES[i % len(HATCHES)], edgecolor="white")
    ax.set_xticks(list(x), chart.labels, rotation=30 if len(chart.labels) > 6 else 0, ha="right"
                  if len(chart.labels) > 6 else "center", fontsize=9)
    ax.set_ylabel(chart.unit)
    ax.set_ylim(bottom=0, top=_highest(chart) * 1.1 or 1)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    if len(chart.series) > 1:
        ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
    fig.tight_layout()
    return fig


def _highest(chart: Chart) -> float:
    if chart.kind == "stacked":
        return max((sum(vs[i] for _, vs in chart.series) for i in range(len(chart.labels))), default=0)
    return max((v for _, vs in chart.series for v in vs), default=0)


def svg(chart: Chart) -> bytes:
    """The chart as an SVG document that names itself for assistive technology."""
    fig = _figure(chart)
    out = io.StringIO()
    fig.savefig(out, format="svg", metadata={"Title": chart.title, "Date": None, "Creator": None})
    plt.close(fig)
    text = re.sub(r"<svg ", '<svg role="img" aria-labelledby="chart-title chart-desc" ', out.getvalue(), count=1)
    head = f'<title id="chart-title">{escape(chart.title)}</title><desc id="chart-desc">{escape(chart.description)}</desc>'
    text = re.sub(r"(<svg [^>]*>)", lambda m: m.group(1) + head, text, count=1)
    return text.encode("utf-8")


def png(chart: Chart, dpi: int = 100) -> bytes:
    fig = _figure(chart)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=dpi, metadata={"Title": chart.title})
    plt.close(fig)
    return out.getvalue()


def table(chart: Chart) -> dict:
    """The chart's numbers as rows: one row per label, one column per series."""
    head = [""] + [name for name, _ in chart.series]
    rows = [[label] + [_num(values[i]) for _, values in chart.series] for i, label in enumerate(chart.labels)]
    return {"head": head, "rows": rows}


def _num(v: float) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)
