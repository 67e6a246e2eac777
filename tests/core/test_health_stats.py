"""Reward-health statistics against values worked out by hand and against known cases:
no drift for the same scores, full drift for disjoint ones, a length-paying reward, a
saturated one, and failures by type."""

from __future__ import annotations

import math
import random

import pytest

from rewardgym.health import RewardWindow, ks_statistic, psi, spearman


def test_psi_is_zero_for_the_same_scores_and_large_for_shifted_ones():
    rng = random.Random(0)
    base = [rng.random() for _ in range(2000)]
    assert psi(base, list(base)) == pytest.approx(0.0, abs=1e-12)
    same_law = [rng.random() for _ in range(2000)]
    assert psi(base, same_law) < 0.05
    shifted = [0.5 + rng.random() / 2 for _ in range(2000)]
    assert psi(base, shifted) > 0.25
    assert math.isnan(psi([], base)) and psi([1.0, 1.0], [1.0]) == 0.0


def test_ks_statistic_by_hand():
    assert ks_statistic([1, 2, 3], [1, 2, 3, 4]) == pytest.approx(0.25)  # at 3: 1 - 3/4
    assert ks_statistic([0, 0.1], [5, 6]) == 1.0
    assert ks_statistic([0.2, 0.4], [0.4, 0.2]) == 0.0
    assert math.isnan(ks_statistic([], [1]))


def test_spearman_by_hand():
    x = [1, 2, 3, 4, 5]
    assert spearman(x, [v**3 for v in x]) == pytest.approx(1.0)  # monotone, not linear
    assert spearman(x, [-v for v in x]) == pytest.approx(-1.0)
    # ties: y's ranks are 1.5, 1.5, 3, 4, 5 -> r = 0.9746794344808963
    assert spearman(x, [1, 1, 2, 3, 4]) == pytest.approx(0.9746794344808963)
    assert math.isnan(spearman(x, [2] * 5)) and math.isnan(spearman([1, 2], [1, 2]))
    with pytest.raises(ValueError, match="3 values against 2"):
        spearman([1, 2, 3], [1, 2])


def test_a_window_sees_drift_length_bias_saturation_and_failures():
    rng = random.Random(1)
    window = RewardWindow(size=400, baseline=400)
    for _ in range(400):  # the baseline: honest scores, unrelated to length
        window.add(rng.random() * 0.5, rng.randint(50, 500))
    calm = window.summary()
    assert calm.drift_psi < 0.01 and calm.drift_ks == 0.0
    assert abs(calm.length_correlation) < 0.2
    for i in range(400):  # the policy learned to pad: longer answers, higher scores
        length = 100 + i * 5
        window.add(min(1.0, length / 1500), length)
    gamed = window.summary()
    assert gamed.drift_psi > 0.25 and gamed.drift_ks > 0.5
    assert gamed.length_correlation > 0.95
    assert gamed.share_at_max == pytest.approx(0.3)  # 120 of 400 at the cap of 1.0
    for _ in range(100):
        window.add(None, 10, "timeout")
    window.add(float("nan"), 10, "internal")
    failing = window.summary()
    assert failing.items == 901 and failing.scored == 299
    assert failing.failures == {"internal": pytest.approx(1 / 400), "timeout": 0.25}
    assert failing.failed_share == pytest.approx(101 / 400)
