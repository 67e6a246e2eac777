"""``rewardgym eval judge``'s HTML report: one self-contained page (no script, no network) with
the figures as bars and the confusion of gold labels against verdicts."""

from __future__ import annotations

from html import escape

from rewardgym.evals.judge import JudgeReport

__all__ = ["judge_html"]

_STYLE = """
body { font: 15px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 52em; color: #222 }
table { border-collapse: collapse; margin: 1em 0 }
td, th { padding: .3em .8em; border-bottom: 1px solid #ddd; text-align: left }
.bar { background: #e6e6e6; width: 18em; height: 1em; display: inline-block }
.bar span { background: #3b6fb6; height: 100%; display: block }
td.n { text-align: right; font-variant-numeric: tabular-nums }
"""

_RATES = (
    ("accuracy", "accuracy (a tie earns half)"),
    ("position_consistency", "position consistency (same verdict in both orders)"),
    ("tie_rate", "ties"),
    ("parse_error_rate", "unreadable verdicts"),
    ("other_error_rate", "other failures"),
)


def _bar(value: float | None) -> str:
    if value is None:
        return "-"
    width = max(0.0, min(1.0, value)) * 100
    return f'<span class="bar"><span style="width:{width:.1f}%"></span></span> {value:.3f}'


def judge_html(report: JudgeReport, reward: str, data: str) -> str:
    """The page for one evaluation of ``reward`` on ``data``."""
    rates = "".join(
        f"<tr><td>{escape(label)}</td><td>{_bar(getattr(report, key))}</td></tr>"
        for key, label in _RATES
    )
    latency = (
        f"p50 {report.latency_ms_p50:.0f} ms, p95 {report.latency_ms_p95:.0f} ms"
        if report.latency_ms_p50 is not None and report.latency_ms_p95 is not None
        else "-"
    )
    verdicts = ("A", "B", "tie", "failed")
    head = "".join(f"<th>verdict {v}</th>" for v in verdicts)
    rows = "".join(
        f"<tr><th>{escape(gold)}</th>"
        + "".join(f'<td class="n">{counts.get(v, 0)}</td>' for v in verdicts)
        + "</tr>"
        for gold, counts in report.confusion.items()
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{escape(reward)} on {escape(data)}</title><style>{_STYLE}</style></head>
<body>
<h1>{escape(reward)} on {escape(data)}</h1>
<p>{report.pairs} pairs, {report.judged} judged; latency {latency}.</p>
<table>{rates}</table>
<h2>Gold against verdict</h2>
<table><tr><th></th>{head}</tr>{rows}</table>
</body></html>
"""
