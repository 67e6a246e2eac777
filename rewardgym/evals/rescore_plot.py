"""The picture of a rescore: old against new scores, and the deltas (matplotlib)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from rewardgym.errors import ConfigError
from rewardgym.evals.rescore import RescoreReport

__all__ = ["plot_rescore"]


def plot_rescore(report: RescoreReport, path: Path, title: str) -> None:
    """Write a PNG: a scatter of old vs new scores and a histogram of new - old."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ConfigError(f"plots need matplotlib: pip install 'rewardgym[plots]' ({exc})") from exc
    old = [o for o, _ in report.pairs]
    new = [n for _, n in report.pairs]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    # Rewards are often binary: each distinct (old, new) pair once, sized and labelled by count.
    counts = Counter(report.pairs)
    points = list(counts)
    left.scatter(
        [o for o, _ in points],
        [n for _, n in points],
        s=[20 + 400 * counts[p] / max(counts.values()) for p in points],
        alpha=0.5,
    )
    if len(points) <= 30:
        for (o, n), count in counts.items():
            left.annotate(str(count), (o, n), textcoords="offset points", xytext=(6, 6))
    low, high = min(old + new, default=0.0), max(old + new, default=1.0)
    left.plot([low, high], [low, high], color="grey", linewidth=0.8)
    left.set(xlabel="old score", ylabel="new score", title="old vs new")
    right.hist([n - o for o, n in report.pairs], bins=21, log=True)
    c = report.overall
    agreement = "-" if c.agreement is None else f"{c.agreement:.1%}"
    right.set(
        xlabel="new - old",
        ylabel="items (log)",
        title=f"agreement {agreement}, flips {c.pass_to_fail} down / {c.fail_to_pass} up",
    )
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
