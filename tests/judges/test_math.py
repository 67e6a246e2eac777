"""The math reward: agreement with Math-Verify's own cases, and hard deadlines."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import httpx
import pytest

from rewardgym.judges.base import ScoreContext
from rewardgym.registry import RewardRegistry
from rewardgym.schema import ErrorType, Item, RewardSpec
from tests.conftest import Server, shared_path

# Rows whose source test was parametrised over a setting: the data names the setting but not
# its value, so each such row is checked against every value the setting can take.
UNRESOLVED = {
    "precision": [6, 2, 3, 4, 5],
    "strict": [True, False],
    "allow_set_relation_comp": [True, False],
}


# This test is about verdicts, not deadlines: a few long solutions take math-verify over a
# second, and a straggler runs at the lowest CPU priority, so a loaded 2-core machine can push
# one past the default 5 s. Deadlines have their own test below.
TIMEOUT_S = 60


def _param_sets(kwargs: dict[str, Any]) -> list[dict[str, Any]]:
    if "note" in kwargs:  # verify(parse(gold), parse(pred)) with math-verify's defaults
        return [{"extraction": ["latex", "expr"], "boxed_priority": 50, "timeout_s": TIMEOUT_S}]
    base = {
        "extraction": kwargs.get("match_types", ["latex", "expr"]),
        "boxed_priority": 0,
        "timeout_s": TIMEOUT_S,
    }
    fixed = {k: v for k, v in kwargs.items() if k != "match_types" and not isinstance(v, str)}
    open_keys = [k for k, v in kwargs.items() if isinstance(v, str)]
    combos = itertools.product(*(UNRESOLVED[k] for k in open_keys))
    return [{**base, **fixed, **dict(zip(open_keys, c, strict=True))} for c in combos]


@pytest.mark.slow
async def test_math_agrees_with_math_verify_cases():
    rows = [json.loads(line) for line in shared_path("data/math_verify_cases.jsonl").open()]
    registry = RewardRegistry([])
    verdicts: dict[int, list[float | None]] = {i: [] for i in range(len(rows))}
    jobs: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        for params in _param_sets(row["_compare_kwargs"]):
            jobs.setdefault(json.dumps(params, sort_keys=True), []).append(i)
    for key, indices in jobs.items():
        reward = registry.resolve(RewardSpec(type="math", params=json.loads(key)))
        items = [Item(response=rows[i]["pred"], reference=rows[i]["gold"]) for i in indices]
        results = await reward.score(items, ScoreContext())
        for i, result in zip(indices, results, strict=True):
            assert result.error is None, (rows[i], result.error)
            verdicts[i].append(result.score)
    disagreements = [
        (rows[i]["_test"], rows[i]["gold"][:40], rows[i]["pred"][:40], rows[i]["expected"])
        for i in verdicts
        if float(rows[i]["expected"]) not in verdicts[i]
    ]
    agreement = 1 - len(disagreements) / len(rows)
    print(f"math agreement {agreement:.4f} on {len(rows)} cases; disagreements: {disagreements}")
    # Expected disagreements: none once unresolved settings are tried; the 1% margin covers
    # sympy-version drift in Math-Verify's own expectations.
    assert agreement >= 0.99, disagreements


@pytest.mark.slow
def test_pathological_items_time_out_and_the_rest_are_scored(server: Server):
    deadline_s = 5.0
    hard = [
        r"\boxed{9^{9^{9^{9^{9}}}}}",
        r"\boxed{10^{10^{10^{10}}}}",
        r"\boxed{(10^{100})!}",
        r"\boxed{9^{9^{9^{9}}}!}",
        r"\boxed{2^{2^{2^{2^{2^{2^{2}}}}}}}",
    ]
    items: list[dict[str, Any]] = []
    for i in range(200):
        a, b = i % 17, i % 5
        items.append(
            {
                "prompt": f"{a}+{b}?",
                "response": f"So the sum is \\boxed{{{a + b}}}.",
                "reference": str(a + b + (i % 3 == 0)),
            }
        )
    for j, h in enumerate(hard):
        items[40 * j + 7] = {"prompt": "?", "response": h, "reference": "1"}
    started = time.monotonic()
    response = httpx.post(
        f"{server.url}/v1/score", json={"reward": "math", "items": items}, timeout=60
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 200
    timeouts = [i for i, r in enumerate(results) if r["error"] and r["error"]["type"] == "timeout"]
    assert timeouts == [40 * j + 7 for j in range(5)]
    scored = [r for i, r in enumerate(results) if i not in timeouts]
    assert all(r["error"] is None and r["score"] in (0.0, 1.0) for r in scored)
    expected = [float(i % 3 != 0) for i in range(200) if i not in timeouts]
    assert [r["score"] for r in scored] == expected
    print(f"200 items with 5 pathological: {elapsed:.2f} s (deadline {deadline_s} s)")
    assert elapsed <= deadline_s + 2.0
    again = httpx.post(
        f"{server.url}/v1/score",
        timeout=30,
        json={
            "reward": "math",
            "items": [{"response": "\\boxed{\\frac{1}{2}}", "reference": "0.5"}],
        },
    )
    assert again.status_code == 200 and again.json()["results"][0]["score"] == 1.0


async def test_math_errors_are_per_item():
    reward = RewardRegistry([]).resolve(RewardSpec(type="math"))
    results = await reward.score(
        [
            Item(response="\\boxed{2}"),
            Item(response="\\boxed{2}", reference="\\text{?}{"),
            Item(response="no answer at all", reference="2"),
            Item(response="2", reference=2),
        ],
        ScoreContext(),
    )
    assert results[0].error is not None and results[0].error.type == ErrorType.INVALID_INPUT
    assert results[2].error is None and results[2].score == 0.0
    assert results[3].score == 1.0


BARE_GOLDS = [
    # (bare LaTeX gold, a correct boxed answer, the fragment a bare parse used to take)
    (r"\frac{5}{6} + \sqrt{5}", r"\frac{5}{6} + \sqrt{5}", r"\frac{5}{6}"),
    (r"2\pi r", r"2 \pi r", "2"),
    (r"[1, 3)", r"[1, 3)", "3"),
    (r"\{1, 2\}", r"\{1, 2\}", "2"),
    (r"3\sqrt{2}", r"3\sqrt{2}", "3"),
    (r"x^2 + 1", r"x^2+1", "1"),
]


async def test_bare_latex_golds_are_read_whole():
    """A gold without delimiters is read wrapped first: its bare parse finds a fragment."""
    reward = RewardRegistry([]).resolve(RewardSpec(type="math"))
    items = []
    for gold, right, fragment in BARE_GOLDS:
        items.append(Item(response=f"\\boxed{{{right}}}", reference=gold))
        items.append(Item(response=f"\\boxed{{{fragment}}}", reference=gold))
    results = await reward.score(items, ScoreContext())
    scores = [r.score for r in results]
    assert scores[0::2] == [1.0] * len(BARE_GOLDS), scores
    assert scores[1::2] == [0.0] * len(BARE_GOLDS), scores


_SCORE_RELATION = """
import asyncio
from rewardgym.registry import RewardRegistry
from rewardgym.judges.base import ScoreContext
from rewardgym.schema import Item, RewardSpec

async def main():
    reward = RewardRegistry([]).resolve(RewardSpec(type="math", params={"strict": False}))
    item = Item(response="$y=-\\\\frac{1}{2}x+\\\\frac{3}{4}$", reference="$2x+4y-3=0$")
    try:
        [result] = await reward.score([item], ScoreContext())
    finally:
        await reward.aclose()
    print(result.score)

asyncio.run(main())
"""


@pytest.mark.slow
def test_math_scores_alike_whatever_the_servers_hash_seed():
    """math-verify's non-strict comparison of equations depends on set order: called in a
    process with PYTHONHASHSEED 1 or 8 it says False, with 0 True. The workers run with one
    seed, so a server's result does not depend on the seed it started with."""
    import os
    import subprocess
    import sys

    scores = set()
    for seed in ("1", "8", "0"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", _SCORE_RELATION], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        scores.add(done.stdout.strip())
    assert scores == {"1.0"}


async def test_literal_answers_must_be_numbers_written_out():
    """Equivalent expressions pass by default; with ``literal`` only the number does (a
    policy with tools would otherwise copy the question's expression)."""
    reference = "7006652"
    forms = [
        "\\boxed{1234*5678}",
        "\\boxed{7006652}",
        "\\boxed{7,006,652}",
        "The answer is 7006652.",
    ]
    for literal, expected in ((False, [1.0, 1.0, 1.0, 1.0]), (True, [0.0, 1.0, 1.0, 1.0])):
        reward = RewardRegistry([]).resolve(RewardSpec(type="math", params={"literal": literal}))
        try:
            results = await reward.score(
                [Item(response=f, reference=reference) for f in forms], ScoreContext()
            )
        finally:
            await reward.aclose()
        assert [r.score for r in results] == expected
    assert results[0].metadata["not_literal"] is True
    reward = RewardRegistry([]).resolve(RewardSpec(type="math", params={"literal": True}))
    try:
        [half, root] = await reward.score(
            [
                Item(response="\\boxed{0.5}", reference="1/2"),
                Item(response="\\boxed{\\sqrt{4}}", reference="2"),
            ],
            ScoreContext(),
        )
    finally:
        await reward.aclose()
    assert (half.score, root.score) == (1.0, 0.0)
