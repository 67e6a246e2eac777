"""Pictures of reward health: one PNG per reward from snapshots of ``/v1/health/rewards``
taken over time (matplotlib, imported when a plot is drawn).

Each picture has four panels: the score distribution at its baseline and at each snapshot
(the histogram over time), score against response length (length bias), the audit rates
over time (flip rate, canary pass rate, re-judge agreement, shadow disagreement) and the
share of failed items by error type.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["AUDIT_RATES", "plot_health"]

AUDIT_RATES = (
    ("flip_rate", "flip rate"),
    ("canary_pass_rate", "canary pass rate"),
    ("rejudge_agreement", "re-judge agreement"),
    ("shadow_disagreement", "shadow disagreement"),
)


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        from rewardgym.errors import ConfigError

        raise ConfigError(f"plots need matplotlib: pip install 'rewardgym[plots]' ({exc})") from exc
    return plt


def plot_health(
    snapshots: Sequence[tuple[float, list[dict[str, Any]]]], folder: Path
) -> list[Path]:
    """One PNG per reward (its whole window, source ``*``) in ``folder``, from
    ``(seconds since the first, windows)`` snapshots; the paths written."""
    plt = _pyplot()
    folder.mkdir(parents=True, exist_ok=True)
    rewards = sorted({w["reward"] for _, windows in snapshots for w in windows})
    written = []
    for reward in rewards:
        series = [
            (t, w)
            for t, windows in snapshots
            for w in windows
            if w["reward"] == reward and w["source"] == "*"
        ]
        if not series:
            continue
        fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
        _histograms(axes[0][0], series)
        _length(axes[0][1], series[-1][1])
        _audits(axes[1][0], series)
        _failures(axes[1][1], series[-1][1])
        last = series[-1][1]
        fig.suptitle(f"{reward}: {last.get('items', 0)} items, mean {_num(last.get('mean'))}")
        fig.tight_layout()
        path = folder / f"health-{_safe(reward)}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    return written


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:80]


def _histograms(ax: Any, series: list[tuple[float, dict[str, Any]]]) -> None:
    first = series[0][1].get("histogram") or {}
    if not first:
        ax.set_title("score distribution: no scores yet")
        return
    ax.step(
        _centres(first["edges"]), _share(first["baseline"]), "k--", where="mid", label="baseline"
    )
    shown = series if len(series) <= 6 else series[:: max(1, len(series) // 6)] + series[-1:]
    for t, window in shown:
        hist = window.get("histogram") or {}
        if hist:  # each snapshot on its own bins (the range seen may have grown)
            ax.step(
                _centres(hist["edges"]), _share(hist["recent"]), where="mid", label=f"t={t:.0f}s"
            )
    psi = series[-1][1].get("drift_psi")
    ax.set(xlabel="score", ylabel="share of items", title=f"score distribution (PSI {_num(psi)})")
    ax.legend(fontsize=7)


def _centres(edges: list[float]) -> list[float]:
    return [(a + b) / 2 for a, b in itertools.pairwise(edges)]


def _share(counts: list[float]) -> list[float]:
    total = sum(counts) or 1.0
    return [c / total for c in counts]


def _length(ax: Any, window: dict[str, Any]) -> None:
    sample = window.get("length_sample") or []
    if sample:
        ax.scatter([n for n, _ in sample], [s for _, s in sample], s=8, alpha=0.5)
    r = window.get("length_correlation")
    ax.set(xlabel="response length (chars)", ylabel="score", title=f"length bias (r {_num(r)})")


def _audits(ax: Any, series: list[tuple[float, dict[str, Any]]]) -> None:
    drawn = False
    for key, label in AUDIT_RATES:
        points = [(t, w[key]) for t, w in series if w.get(key) is not None]
        if points:
            ax.plot([t for t, _ in points], [v for _, v in points], marker="o", label=label)
            drawn = True
    ax.set(xlabel="seconds", ylabel="rate", ylim=(-0.05, 1.05), title="judge audits")
    if drawn:
        ax.legend(fontsize=7)
    else:
        ax.text(
            0.5, 0.5, "no audits (not a judge, or none yet)", ha="center", transform=ax.transAxes
        )


def _failures(ax: Any, window: dict[str, Any]) -> None:
    failures = window.get("failures") or {}
    if failures:
        ax.bar(list(failures), list(failures.values()))
        ax.tick_params(axis="x", labelrotation=20)
    else:
        ax.text(0.5, 0.5, "no failed items", ha="center", transform=ax.transAxes)
    ax.set(ylabel="share of items", title=f"failed items ({_num(window.get('failed_share'))})")
