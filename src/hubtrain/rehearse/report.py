"""What a rehearsal found: percentiles per step, failures by kind, the verdict,
and the files a TA keeps (a CSV of every learner, an HTML page with charts).

The charts are inline SVG drawn here, so the page opens offline, from a USB
stick or an email attachment, with nothing fetched from the network.
"""

from __future__ import annotations

import csv
import html
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubtrain.rehearse.plan import FAILURE_KINDS, PREFIX, Limits

__all__ = ["StepStats", "Verdict", "percentile", "step_stats", "verdict", "write_csv", "write_html"]

# The steps the report describes, in the order a learner meets them.
STEP_NAMES = {
    "ready": "Request to ready (server start)",
    "pull": "Pull the course (nbgitpuller link)",
    "first_check": "Notebook opened to first check",
}
COLORS = {"ready": "#1f5fa8", "pull": "#b85c00", "first_check": "#2b7a3d", "stop": "#6b6b6b"}
CSV_FIELDS = [
    "name", "profile", "outcome", "arrived", "ready", "pull", "first_check", "checks",
    "stop", "image", "mem_limit", "checks_passed", "checks_total", "retries_429",
    "walked_by", "message",
]  # fmt: skip


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100), interpolating between ranks; None if empty."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class StepStats:
    step: str
    count: int
    p50: float | None
    p95: float | None
    p99: float | None
    slowest: list[tuple[str, float]]


def step_stats(rows: list[dict[str, Any]], step: str, slowest: int = 3) -> StepStats:
    timed = [(r["name"], r[step]) for r in rows if r.get(step) is not None]
    values = [t for _, t in timed]
    return StepStats(
        step=step,
        count=len(values),
        p50=percentile(values, 50),
        p95=percentile(values, 95),
        p99=percentile(values, 99),
        slowest=sorted(timed, key=lambda item: -item[1])[:slowest],
    )


@dataclass(frozen=True)
class Verdict:
    passed: bool
    line: str


def _s(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} s"


def verdict(rows: list[dict[str, Any]], limits: Limits) -> Verdict:
    """One line a TA can act on, and whether the hub met every limit they set."""
    failed = [r for r in rows if r["outcome"] != "ok"]
    problems = []
    if len(failed) > limits.max_failures:
        kinds = Counter(r["outcome"] for r in failed)
        what = ", ".join(f"{n} {k}" for k, n in kinds.most_common())
        problems.append(f"{len(failed)} of {len(rows)} learners failed ({what})")
    for step, limit in (
        ("ready", limits.p95),
        ("pull", limits.p95_pull),
        ("first_check", limits.p95_check),
    ):
        if limit is None:
            continue
        p95 = step_stats(rows, step).p95
        if p95 is None or p95 > limit:
            problems.append(f"p95 {step.replace('_', ' ')} {_s(p95)} > {limit:g} s")
    ready = step_stats(rows, "ready")
    summary = (
        f"{len(rows) - len(failed)}/{len(rows)} learners finished; "
        f"request to ready p50 {_s(ready.p50)}, p95 {_s(ready.p95)}"
    )
    if problems:
        return Verdict(False, f"FAIL: {'; '.join(problems)} ({summary})")
    return Verdict(True, f"PASS: {summary}")


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: (f"{v:.3f}" if isinstance(v, float) else v) for k, v in row.items()}
            )


# -- charts -----------------------------------------------------------------------


def _ticks(top: float) -> list[float]:
    """About five round tick values from 0 to at least `top`."""
    top = max(top, 1.0)
    raw = top / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return [i * step for i in range(math.ceil(top / step) + 1)]


def _text(x: float, y: float, text: str, anchor: str = "middle", cls: str = "tick") -> str:
    return f'<text class="{cls}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{text}</text>'


def _line(x1: float, y1: float, x2: float, y2: float, cls: str) -> str:
    return f'<line class="{cls}" x1="{x1:.1f}" x2="{x2:.1f}" y1="{y1:.1f}" y2="{y2:.1f}"/>'


def _svg_open(name: str, width: int, height: int, title: str, desc: str) -> list[str]:
    return [
        f'<svg class="chart" id="{name}-chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" aria-labelledby="{name}-title {name}-desc">',
        f'<title id="{name}-title">{html.escape(title)}</title>',
        f'<desc id="{name}-desc">{html.escape(desc)}</desc>',
    ]


def ready_chart(rows: list[dict[str, Any]], limit: float | None) -> str:
    """Each learner as a dot: how long they waited for a server (y) against when
    they asked (x); when everyone asked at once (a burst), against the order in
    which their servers became ready, so the dots spread out into a staircase."""
    width, height, left, bottom, pad = 640, 320, 56, 44, 16
    arrived = [r["arrived"] for r in rows]
    burst = max(arrived, default=0) - min(arrived, default=0) < 1.0
    timed = sorted((r for r in rows if r.get("ready") is not None), key=lambda r: r["ready"])
    if burst:
        points = [(i + 1, r["ready"], r["name"]) for i, r in enumerate(timed)]
        x_label = "learners, in the order their servers were ready"
    else:
        points = [(r["arrived"], r["ready"], r["name"]) for r in timed]
        x_label = "seconds after the start when the learner asked"
    failed = [
        (len(points) + 1 if burst else r["arrived"], r["name"], r["outcome"])
        for r in rows
        if r.get("ready") is None
    ]
    xs = _ticks(max([p[0] for p in points] + [f[0] for f in failed] + [1.0]))
    ys = _ticks(max([p[1] for p in points] + [limit or 0, 1.0]))
    plot_w, plot_h = width - left - pad, height - bottom - pad
    floor, right_edge = height - bottom, width - pad

    def x(v: float) -> float:
        return left + plot_w * v / xs[-1]

    def y(v: float) -> float:
        return pad + plot_h * (1 - v / ys[-1])

    parts = _svg_open(
        "ready",
        width,
        height,
        "Time from asking for a server to the server being ready",
        f"{len(points)} learners shown as dots; a dot higher up waited longer. Learners who "
        "never got a server are marked with a cross on the bottom axis.",
    )
    for v in ys:
        parts += [
            _line(left, y(v), right_edge, y(v), "grid"),
            _text(left - 6, y(v) + 4, f"{v:g}", "end"),
        ]
    parts += [_text(x(v), floor + 16, f"{v:g}") for v in xs]
    parts += [_line(left, pad, left, floor, "axis"), _line(left, floor, right_edge, floor, "axis")]
    parts.append(_text(left + plot_w / 2, height - 6, x_label, cls="label"))
    parts.append(
        f'<text class="label" transform="translate(14 {pad + plot_h / 2}) rotate(-90)" '
        'text-anchor="middle">seconds until ready</text>'
    )
    if limit is not None:
        parts.append(_line(left, y(limit), right_edge, y(limit), "limit"))
        parts.append(_text(right_edge - 4, y(limit) - 4, f"your limit: {limit:g} s", "end"))
    for arrived, ready, name in points:
        parts.append(
            f'<circle class="dot" cx="{x(arrived):.1f}" cy="{y(ready):.1f}" r="4" '
            f'fill="{COLORS["ready"]}"><title>{html.escape(name)}: {ready:.1f} s</title></circle>'
        )
    for arrived, name, outcome in failed:
        parts.append(
            f'<path class="failed" d="M{x(arrived) - 4:.1f} {floor - 4} l8 8 m0 -8 l-8 8" '
            f'stroke="#b00020" stroke-width="2"><title>{html.escape(name)}: '
            f"{html.escape(outcome)}</title></path>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


def steps_chart(rows: list[dict[str, Any]], most: int = 60) -> str:
    """One bar per learner (the first `most`), split into the time each step took."""
    bar, gap, left, pad, bottom, width = 14, 4, 170, 20, 40, 640
    shown = rows[:most]
    height = pad + bottom + len(shown) * (bar + gap)
    xs = _ticks(max([sum(r.get(s) or 0 for s in STEP_NAMES) for r in shown] + [1.0]))
    plot_w, floor = width - left - pad, height - bottom

    def x(v: float) -> float:
        return left + plot_w * v / xs[-1]

    parts = _svg_open(
        "steps",
        width,
        height,
        "Where each learner's time went",
        "One bar per learner; the coloured parts are server start, course pull, and opening "
        "the notebook up to the first check.",
    )
    for v in xs:
        parts += [_line(x(v), pad, x(v), floor, "grid"), _text(x(v), floor + 16, f"{v:g}")]
    parts.append(_text(left + plot_w / 2, height - 6, "seconds", cls="label"))
    for i, row in enumerate(shown):
        top = pad + i * (bar + gap)
        label = row["name"].removeprefix(PREFIX)
        parts.append(_text(left - 6, top + bar - 3, html.escape(label[-24:]), "end"))
        start = 0.0
        for step, title in STEP_NAMES.items():
            took = row.get(step)
            if took is None:
                continue
            parts.append(
                f'<rect class="bar {step}" x="{x(start):.1f}" y="{top}" '
                f'width="{max(x(start + took) - x(start), 1):.1f}" height="{bar}" '
                f'fill="{COLORS[step]}"><title>{html.escape(row["name"])}: '
                f"{html.escape(title)} {took:.1f} s</title></rect>"
            )
            start += took
        if row["outcome"] != "ok":
            parts.append(
                _text(
                    x(start) + 4, top + bar - 3, html.escape(row["outcome"]), "start", "tick failed"
                )
            )
    parts.append("</svg>")
    return "\n".join(parts)


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem;
       color: #1a1a1a; line-height: 1.5; }
table { border-collapse: collapse; margin: 1rem 0; } th, td { border: 1px solid #999;
       padding: .3rem .6rem; text-align: left; } th { background: #eee; }
.verdict { font-size: 1.2rem; padding: .8rem 1rem; border-left: 6px solid; }
.pass { border-color: #2b7a3d; background: #eaf5ec; }
.fail { border-color: #b00020; background: #fbeaec; }
.chart { max-width: 100%; height: auto; } .grid { stroke: #ddd; } .axis { stroke: #333; }
.limit { stroke: #b00020; stroke-dasharray: 6 4; } .tick, .label { font-size: 12px; fill: #333; }
.failed { fill: #b00020; }
.key span { display: inline-block; width: 1rem; height: .8rem; margin: 0 .3rem 0 1rem; }
"""


def write_html(
    rows: list[dict[str, Any]], limits: Limits, result: Verdict, facts: dict[str, str], path: Path
) -> None:
    """The report a TA reads: verdict first, then what each number means."""
    esc = html.escape
    stats = [step_stats(rows, step) for step in STEP_NAMES]
    failures = Counter(r["outcome"] for r in rows if r["outcome"] != "ok")
    retried = sum(1 for r in rows if r.get("retries_429"))
    stat_rows = "\n".join(
        f'<tr><th scope="row">{esc(STEP_NAMES[s.step])}</th><td>{s.count}</td><td>{_s(s.p50)}</td>'
        f"<td>{_s(s.p95)}</td><td>{_s(s.p99)}</td><td>"
        + esc(", ".join(f"{n} ({t:.1f} s)" for n, t in s.slowest))
        + "</td></tr>"
        for s in stats
    )
    failure_rows = "\n".join(
        f"<tr><td>{esc(kind)}</td><td>{failures.get(kind, 0)}</td></tr>" for kind in FAILURE_KINDS
    )
    messages = "\n".join(
        f"<li><strong>{esc(r['name'])}</strong> ({esc(r['outcome'])}): {esc(r['message'])}</li>"
        for r in rows
        if r["outcome"] != "ok"
    )
    fact_rows = "\n".join(
        f'<tr><th scope="row">{esc(k)}</th><td>{esc(v)}</td></tr>' for k, v in facts.items()
    )
    key = "".join(
        f'<span style="background:{COLORS[s]}"></span>{esc(STEP_NAMES[s])}' for s in STEP_NAMES
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rehearsal report</title><style>{_CSS}</style></head>
<body><main>
<h1>Rehearsal report</h1>
<p class="verdict {"pass" if result.passed else "fail"}">{esc(result.line)}</p>
<table><caption>What was rehearsed</caption>{fact_rows}</table>
<h2>How long learners waited</h2>
<p>Read "p50" as "half the learners waited at most this long", "p95" as "all but 1 in 20
waited at most this long", and "p99" as "all but 1 in 100". On the day, the p95 is what the
slowest learners in a full room will experience.</p>
<table id="step-stats"><thead><tr><th scope="col">Step</th><th scope="col">Learners timed</th>
<th scope="col">p50</th><th scope="col">p95</th><th scope="col">p99</th>
<th scope="col">Slowest learners</th></tr></thead>
<tbody>{stat_rows}</tbody></table>
<h2>Server start over the rehearsal</h2>
<p>Each dot is a learner; higher means a longer wait. When learners arrived over time, dots
climbing from left to right mean the hub fell behind as more of them arrived.</p>
{ready_chart(rows, limits.p95)}
<h2>Where the time went</h2>
<p class="key">{key}</p>
{steps_chart(rows)}
<h2>What went wrong</h2>
<table><thead><tr><th scope="col">Kind</th><th scope="col">Learners</th></tr></thead>
<tbody>{failure_rows}</tbody></table>
<p>{retried} learner(s) were told "too many people are starting servers, try again" (HTTP 429) at
least once and retried, as a learner would.</p>
<ul>{messages}</ul>
</main></body></html>
"""
    path.write_text(page, encoding="utf-8")
