"""LLM judge against a faulty backend (fault injection: a small local HTTP server that times
out, fails, rate-limits or answers garbage): each is a per-item error or a successful retry."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest

from rewardgym.client import RewardClient
from rewardgym.client.grpc import GrpcRewardClient
from rewardgym.judges.base import ScoreContext
from rewardgym.registry import RewardRegistry
from rewardgym.schema import ErrorType, Item, RewardSpec
from tests.conftest import Server, local_http_server

CALLS: Counter[str] = Counter()


def _completion(content: str) -> bytes:
    return json.dumps(
        {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        }
    ).encode()


class _Faulty(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        mode = self.path.split("/")[1]
        CALLS[mode] += 1
        if mode == "ok":
            self._send(200, _completion("Clear and correct.\nScore: 7"))
        elif mode == "slow":
            time.sleep(3)
            self._send(200, _completion("Score: 7"))
        elif mode == "e500":
            self._send(500, b'{"error": {"message": "boom"}}')
        elif mode == "e429":
            if CALLS[mode] <= 2:
                self._send(429, b'{"error": {"message": "slow down"}}', {"retry-after": "0.05"})
            else:
                self._send(200, _completion("Score: 9"))
        elif mode == "garbage":
            self._send(200, b"<html>not json at all")
        elif mode == "alwaysA":  # a judge with pure position bias
            self._send(200, _completion("The first one reads better. [[A]]"))
        elif mode == "paris":  # a consistent judge: prefers the response that says Paris
            user = body["messages"][-1]["content"]
            a_part = re.split(r"\[(?:BEGIN|END) RESPONSE A #\w+\]", user)[1]
            self._send(200, _completion("[[A]]" if "Paris" in a_part else "[[B]]"))
        elif mode in ("listpos", "listparis"):  # listwise: position-biased or content-led
            user = body["messages"][-1]["content"]
            shown = [part.split("]", 1)[1] for part in user.split("[BEGIN RESPONSE ")[1:]]
            if mode == "listpos":
                scores = [10 - i for i in range(len(shown))]
            else:
                scores = [9 if "Paris" in text else 2 for text in shown]
            self._send(200, _completion("Scores: " + ", ".join(map(str, scores))))
        elif mode == "steps":  # a step checker that flags steps saying "wrong"
            user = body["messages"][-1]["content"]
            steps = [part.split("]", 1)[1] for part in user.split("[BEGIN STEP ")[1:]]
            lines = [
                f"Step {k}: {'incorrect' if 'wrong' in text else 'correct'}"
                for k, text in enumerate(steps, 1)
            ]
            self._send(200, _completion("Checked.\n" + "\n".join(lines)))
        elif mode == "chatty":
            self._send(200, _completion("I rather like this answer, but who can say."))
        else:
            self._send(404, b"{}")


@pytest.fixture(scope="module")
def faulty() -> Iterator[str]:
    with local_http_server(_Faulty) as url:
        yield url


def judge_spec(url: str, mode: str, tmp: Path | None = None) -> dict[str, Any]:
    return {
        "type": "pointwise",
        "params": {
            "verdict": "text",
            "rubric": "helpfulness10",
            "backend": {
                "base_url": f"{url}/{mode}/v1",
                "model": "m",
                "timeout_s": 0.5,
                "max_retries": 2,
                "cache": str(tmp / "c.sqlite") if tmp else False,
            },
        },
    }


async def _score(url: str, mode: str, tmp: Path | None = None) -> Any:
    reward = RewardRegistry([]).resolve(RewardSpec.model_validate(judge_spec(url, mode, tmp)))
    try:
        [result] = await reward.score([Item(prompt="q", response="a")], ScoreContext())
    finally:
        await reward.aclose()
    return result


async def test_a_good_backend_gives_a_normalised_score_and_critique(faulty: str):
    result = await _score(faulty, "ok")
    assert result.error is None
    assert result.score == pytest.approx((7 - 1) / 9)
    assert result.metadata["raw_score"] == 7.0 and result.critique == "Clear and correct."
    assert result.taxonomy.basis == "judge"


@pytest.mark.parametrize(
    ("mode", "error", "calls"),
    [
        pytest.param("slow", ErrorType.TIMEOUT, 3, marks=pytest.mark.slow),
        pytest.param("e500", ErrorType.BACKEND_ERROR, 3, marks=pytest.mark.slow),
        pytest.param("garbage", ErrorType.BACKEND_ERROR, 3, marks=pytest.mark.slow),
        ("chatty", ErrorType.JUDGE_PARSE_ERROR, 2),
    ],
)
async def test_faults_become_per_item_errors_fault_injection(
    faulty: str, mode: str, error: ErrorType, calls: int
):
    before = CALLS[mode]
    started = time.monotonic()
    result = await _score(faulty, mode)
    assert result.score is None
    assert result.error is not None and result.error.type == error, result.error
    assert CALLS[mode] - before == calls  # retried as documented, then gave up
    assert time.monotonic() - started < 15


async def test_429_with_retry_after_is_retried_until_it_succeeds_fault_injection(faulty: str):
    result = await _score(faulty, "e429")
    assert result.error is None and result.metadata["raw_score"] == 9.0


async def test_cache_answers_repeats_without_a_call(faulty: str, tmp_path: Path):
    first = await _score(faulty, "ok", tmp_path)
    before = CALLS["ok"]
    second = await _score(faulty, "ok", tmp_path)
    assert CALLS["ok"] == before and second.cached and not first.cached
    assert second.score == first.score


def test_server_stays_healthy_with_a_failing_judge_fault_injection(faulty: str, server: Server):
    body = {
        "reward": judge_spec(faulty, "e500"),
        "items": [{"prompt": "q", "response": "a"}, {"prompt": "q", "response": "b"}],
    }
    response = httpx.post(f"{server.url}/v1/score", json=body, timeout=60)
    assert response.status_code == 200
    assert [r["error"]["type"] for r in response.json()["results"]] == ["backend_error"] * 2
    assert httpx.get(f"{server.url}/healthz").status_code == 200


def pairwise_spec(url: str, mode: str) -> dict[str, Any]:
    return {
        "type": "pairwise",
        "params": {
            "backend": {
                "base_url": f"{url}/{mode}/v1",
                "model": "m",
                "timeout_s": 2,
                "cache": False,
            }
        },
    }


PAIR = {"prompt": "Capital of France?", "responses": ["It is Lyon.", "It is Paris."]}


def test_pairwise_swap_exposes_position_bias_fault_injection(faulty: str, server: Server):
    before = CALLS["alwaysA"]
    with RewardClient(server.url) as client:
        [result] = client.compare(pairwise_spec(faulty, "alwaysA"), [PAIR])
    assert CALLS["alwaysA"] - before == 2  # both orders were judged
    assert result.preference is not None and result.preference.consistent is False
    assert result.metadata["winner"] == "tie"
    assert result.score == pytest.approx(0.5)
    assert result.preference.probabilities == [pytest.approx(0.5), pytest.approx(0.5)]


def test_pairwise_consistent_judge_over_http_and_grpc_fault_injection(faulty: str, server: Server):
    items = [PAIR, {"prompt": PAIR["prompt"], "responses": PAIR["responses"][::-1]}]
    with RewardClient(server.url) as http, GrpcRewardClient(server.grpc_target) as rpc:
        over_http = http.compare(pairwise_spec(faulty, "paris"), items)
        over_grpc = rpc.compare(pairwise_spec(faulty, "paris"), items)
    for results in (over_http, over_grpc):
        assert [r.preference.ranking for r in results] == [[1, 0], [0, 1]]
        assert all(r.preference.consistent for r in results)
        assert [r.score for r in results] == [0.0, 1.0]
        assert results[0].taxonomy.format == "preference"


def test_pairwise_needs_exactly_two_responses(faulty: str, server: Server):
    three = {"prompt": "q", "responses": ["a", "b", "c"]}
    with RewardClient(server.url) as client:
        results = client.compare(pairwise_spec(faulty, "paris"), [PAIR, three])
    assert results[0].error is None
    assert results[1].error is not None and results[1].error.type == ErrorType.INVALID_INPUT


@pytest.mark.slow
def test_eval_judge_cli_on_llmbar_with_a_position_biased_judge_fault_injection(
    faulty: str, tmp_path: Path
):
    import subprocess
    import sys

    from tests.conftest import shared_path

    data = shared_path("data/llmbar/Natural.json")
    config = tmp_path / "judges.yaml"
    config.write_text(
        "rewards:\n  - name: biased\n    type: pairwise\n    params:\n"
        f"      backend: {{base_url: '{faulty}/alwaysA/v1', model: m, cache: false}}\n"
    )
    out = tmp_path / "report.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "rewardgym",
            "eval",
            "judge",
            "--reward",
            "biased",
            "--data",
            str(data),
            "--config",
            str(config),
            "--limit",
            "6",
            "--report",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    figures = json.loads(out.read_text())
    assert figures["pairs"] == 6 and figures["judged"] == 6
    assert figures["position_consistency"] == 0.0  # swapping the order flips every verdict
    assert figures["tie_rate"] == 1.0 and figures["accuracy"] == 0.5
    assert figures["parse_error_rate"] == 0.0
    confusion = figures["confusion"]  # every verdict a tie, whichever answer was better
    assert sum(confusion["A better"].values()) + sum(confusion["B better"].values()) == 6
    assert confusion["A better"]["tie"] + confusion["B better"]["tie"] == 6
    page = (tmp_path / "report.html").read_text()  # the HTML page beside the JSON
    assert "<h1>biased on Natural.json</h1>" in page and "6 pairs, 6 judged" in page
    assert "Gold against verdict" in page and "<script" not in page


def _judge(url: str, mode: str, kind: str, **params: Any) -> dict[str, Any]:
    backend = {"base_url": f"{url}/{mode}/v1", "model": "m", "timeout_s": 2, "cache": False}
    return {"type": kind, "params": {"verdict": "text", "backend": backend, **params}}


def test_listwise_orders_cancel_a_position_biased_judge_fault_injection(
    faulty: str, server: Server
):
    items = [{"prompt": "Capital of France?", "responses": ["Lyon", "Paris", "Nice", "Metz"]}]
    with RewardClient(server.url) as client:
        [biased] = client.compare(_judge(faulty, "listpos", "listwise"), items)
        [fair] = client.compare(_judge(faulty, "listparis", "listwise"), items)
    # Shown in a shuffle and its reverse, pure position bias averages out to a flat score.
    assert biased.error is None, biased.error
    assert len(set(biased.scores.values())) == 1 and biased.preference.consistent is False
    assert biased.metadata["orders"][0] == biased.metadata["orders"][1][::-1]
    # A judge led by content ranks the same response first whatever the order.
    assert fair.preference.ranking[0] == 1 and fair.preference.consistent is True
    assert fair.scores == {"0": pytest.approx(1 / 9), "1": 8 / 9, "2": 1 / 9, "3": 1 / 9}
    assert fair.score == fair.scores["0"]


def test_listwise_unreadable_and_oversized_are_item_errors_fault_injection(
    faulty: str, server: Server
):
    items = [
        {"prompt": "q", "responses": ["a", "b", "c"]},
        {"prompt": "q", "responses": [str(i) for i in range(20)]},
    ]
    with RewardClient(server.url) as client:
        chatty = client.compare(_judge(faulty, "chatty", "listwise"), items)
    assert chatty[0].error is not None and chatty[0].error.type == ErrorType.JUDGE_PARSE_ERROR
    assert chatty[1].error is not None and chatty[1].error.type == ErrorType.INVALID_INPUT
    assert "at most 16" in chatty[1].error.message


def test_step_judge_finds_the_first_wrong_step_fault_injection(faulty: str, server: Server):
    items = [
        {"prompt": "2+3*4?", "response": "3*4 = 12\n\n2 + 12 = 15, wrong sum\n\nSo 15."},
        {"prompt": "2+2?", "response": "ignored", "steps": ["2+2 = 4", "The answer is 4."]},
    ]
    spec = _judge(faulty, "steps", "step", aggregate="prefix")
    with RewardClient(server.url) as client, GrpcRewardClient(server.grpc_target) as rpc:
        results = client.score(spec, items)
        over_grpc = rpc.score(spec, items)
    first, second = results
    assert [s.label for s in first.steps] == ["correct", "incorrect", "correct"]
    assert first.metadata["first_error_step"] == 1 and first.score == pytest.approx(1 / 3)
    assert [s.text for s in second.steps] == ["2+2 = 4", "The answer is 4."]
    assert second.metadata["first_error_step"] == -1 and second.score == 1.0
    assert [[s.label for s in r.steps] for r in over_grpc] == [
        [s.label for s in r.steps] for r in results
    ]


def test_self_consistency_needs_sampling_temperature(server: Server):
    spec = _judge("http://127.0.0.1:9", "ok", "pointwise", samples=3)
    response = httpx.post(
        f"{server.url}/v1/score", json={"reward": spec, "items": [{"prompt": "q", "response": "a"}]}
    )
    assert response.status_code == 422
    assert "temperature > 0" in response.text


@pytest.mark.parametrize(
    ("mode", "error", "kind"),
    [
        pytest.param("down", "backend_error", "connection", marks=pytest.mark.slow),
        pytest.param("slow", "timeout", "timeout", marks=pytest.mark.slow),
        pytest.param("e500", "backend_error", "http", marks=pytest.mark.slow),
        pytest.param("garbage", "backend_error", "malformed", marks=pytest.mark.slow),
        ("chatty", "judge_parse_error", None),
    ],
)
def test_fault_table_through_a_real_server_fault_injection(
    faulty: str, server: Server, mode: str, error: str, kind: str | None
):
    """Each judge-backend fault: a per-item error of the documented type, within the retry
    budget (0.5 s timeout x 3 tries + backoff), the failure counted by kind in /metrics, and the
    server healthy after."""
    from tests.server.test_ops import metric

    url = "http://127.0.0.1:9" if mode == "down" else faulty  # nothing listens on port 9
    body = {"reward": judge_spec(url, mode), "items": [{"prompt": "q", "response": "a"}] * 2}
    label = {"backend": "openai/m", "kind": kind or ""}
    before = metric(
        httpx.get(f"{server.url}/metrics").text, "rewardgym_backend_errors_total", **label
    )
    started = time.monotonic()
    response = httpx.post(f"{server.url}/v1/score", json=body, timeout=60)
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["error"]["type"] for r in results] == [error] * 2
    assert all(r["score"] is None for r in results)
    assert elapsed < 15, elapsed
    assert httpx.get(f"{server.url}/healthz").status_code == 200
    after = metric(
        httpx.get(f"{server.url}/metrics").text, "rewardgym_backend_errors_total", **label
    )
    if kind is not None:
        assert (after or 0) - (before or 0) >= 2
    print(f"\n| {mode} | {error} | {elapsed:.2f} s | healthy |")
