"""Operations on real servers (loopback): back-pressure, gRPC keys and rates, request ids in
JSON logs, metrics, and the judgment cache shared through a real ``redis-server``."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from rewardgym.client import RewardClient
from rewardgym.client.grpc import GrpcRewardClient
from rewardgym.errors import OverloadedError, RateLimitedError, UnauthorizedError
from rewardgym.judges.runtime.ports import free_loopback_port
from tests.conftest import Server, start_server, stop_server

SLOW = {
    "reward": {"type": "math", "params": {"timeout_s": 2}},
    "items": [
        {"response": r"\boxed{9^{9^{9^{9^{9}}}}}", "reference": "1"},
        {"response": r"\boxed{2}", "reference": "2"},
    ],
}
SMALL = {"reward": "exact_match", "items": [{"response": "a", "reference": "a"}] * 3}


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of one Prometheus sample, or None when absent."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        if head.split("{")[0] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', head))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return None


def _in_background(
    url: str, body: dict[str, Any], out: dict[str, httpx.Response]
) -> threading.Thread:
    def call() -> None:
        out["response"] = httpx.post(f"{url}/v1/score", json=body, timeout=60)

    thread = threading.Thread(target=call)
    thread.start()
    return thread


def _wait_in_flight(url: str) -> None:
    deadline = time.monotonic() + 20
    while httpx.get(f"{url}/readyz", timeout=5).json()["in_flight"] == 0:
        assert time.monotonic() < deadline, "the slow request never reached the server"
        time.sleep(0.02)


@pytest.mark.slow
def test_saturated_server_answers_503_with_retry_after_over_http_and_grpc():
    server = start_server({"REWARDGYM_MAX_PENDING_ITEMS": "4", "REWARDGYM_RETRY_AFTER_S": "3"})
    try:
        out: dict[str, httpx.Response] = {}
        thread = _in_background(server.url, SLOW, out)
        _wait_in_flight(server.url)
        assert httpx.get(f"{server.url}/readyz").json()["pending_items"] == 2
        refused = httpx.post(f"{server.url}/v1/score", json=SMALL, timeout=10)
        assert refused.status_code == 503 and refused.headers["retry-after"] == "3"
        error = refused.json()["error"]
        assert error["code"] == "overloaded" and error["max_pending_items"] == 4
        assert "REWARDGYM_MAX_PENDING_ITEMS" in error["message"]
        grpc_client = GrpcRewardClient(server.grpc_target, retries=0)
        with pytest.raises(OverloadedError, match="already being scored"):
            grpc_client.score("exact_match", SMALL["items"])
        # a client that retries waits the Retry-After, then gets through
        started = time.monotonic()
        with RewardClient(server.url, retries=2, backoff_s=0.01) as client:
            results = client.score("exact_match", SMALL["items"])
        assert [r.score for r in results] == [1.0] * 3 and time.monotonic() - started >= 2.9
        thread.join(timeout=30)
        assert out["response"].status_code == 200  # the admitted call was not disturbed
        assert httpx.post(f"{server.url}/v1/score", json=SMALL).status_code == 200
        scraped = httpx.get(f"{server.url}/metrics").text
        assert (metric(scraped, "rewardgym_rejected_total", reason="overloaded") or 0) >= 3
        assert metric(scraped, "rewardgym_pending_items") == 0.0
        grpc_client.close()
    finally:
        stop_server(server)


@pytest.mark.slow
def test_grpc_needs_the_key_shares_the_rate_with_http_and_keeps_health_open():
    server = start_server(
        {
            "REWARDGYM_API_KEYS": "k-grpc-1",
            "REWARDGYM_RATE_LIMIT": "0.2",
            "REWARDGYM_RATE_BURST": "2",
        }
    )
    try:
        with pytest.raises(UnauthorizedError, match="authorization: Bearer"):
            GrpcRewardClient(server.grpc_target, retries=0).score("exact_match", SMALL["items"])
        with pytest.raises(UnauthorizedError, match="not accepted"):
            GrpcRewardClient(server.grpc_target, api_key="nope", retries=0).rewards()
        with grpc.insecure_channel(server.grpc_target) as channel:
            check = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
            assert check.status == health_pb2.HealthCheckResponse.SERVING
        keyed = GrpcRewardClient(server.grpc_target, api_key="k-grpc-1", retries=0)
        assert [r.score for r in keyed.score("exact_match", SMALL["items"])] == [1.0] * 3
        auth = {"Authorization": "Bearer k-grpc-1"}
        assert httpx.post(f"{server.url}/v1/score", json=SMALL, headers=auth).status_code == 200
        with pytest.raises(RateLimitedError, match="requests/s"):  # one bucket for both fronts
            keyed.score("exact_match", SMALL["items"])
        keyed.close()
    finally:
        stop_server(server)


@pytest.mark.slow
def test_request_ids_reach_the_response_and_every_json_log_line(tmp_path: Path):
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log_file:
        server = start_server(
            {
                "REWARDGYM_LOG_FORMAT": "json",
                "REWARDGYM_API_KEYS": "very-secret-key",
                "REWARDGYM_RATE_LIMIT": "0.01",  # the burst, then 429s: logged with their key
                "REWARDGYM_RATE_BURST": "6",
            },
            log_level="info",
            stderr=log_file,
        )
        try:
            auth = {"Authorization": "Bearer very-secret-key"}
            given = httpx.post(
                f"{server.url}/v1/score",
                json=SMALL,
                headers={**auth, "X-Request-ID": "trainer-run7.step42"},
            )
            assert given.headers["x-request-id"] == "trainer-run7.step42"
            fresh = httpx.post(f"{server.url}/v1/score", json=SMALL, headers=auth)
            assert re.fullmatch(r"[0-9a-f]{32}", fresh.headers["x-request-id"])
            hostile = httpx.post(
                f"{server.url}/v1/score", json=SMALL, headers={**auth, "X-Request-ID": "a b\tc"}
            )
            assert hostile.headers["x-request-id"] != "a b\tc"  # not echoed into logs as is
            assert httpx.post(f"{server.url}/v1/score", json=SMALL).status_code == 401
            with grpc.insecure_channel(server.grpc_target) as channel:
                from rewardgym.proto._gen import reward_pb2 as pb
                from rewardgym.proto._gen import reward_pb2_grpc as pb_grpc

                call = pb_grpc.RewardServiceStub(channel).ListRewards.with_call(
                    pb.ListRewardsRequest(),
                    metadata=(("authorization", "Bearer very-secret-key"), ("x-request-id", "g-1")),
                )
                assert ("x-request-id", "g-1") in call[1].initial_metadata()
            statuses = [
                httpx.post(f"{server.url}/v1/score", json=SMALL, headers=auth).status_code
                for _ in range(6)
            ]
            assert 429 in statuses
        finally:
            stop_server(server)
    text = log_path.read_text()
    assert "very-secret-key" not in text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # all JSON
    access = [e for e in lines if e["logger"] == "rewardgym.access"]
    mine = [e for e in access if e.get("request_id") == "trainer-run7.step42"]
    assert mine and mine[0]["status"] == 200 and mine[0]["path"] == "/v1/score"
    assert re.fullmatch(r"[0-9a-f]{8}", mine[0]["key_id"]) and mine[0]["ms"] >= 0
    assert any(e["status"] == 401 and e.get("key_id") is None for e in access)
    limited = [e for e in access if e["status"] == 429]
    assert limited and all(e["key_id"] == mine[0]["key_id"] for e in limited)
    grpc_line = [e for e in access if e.get("request_id") == "g-1"]
    assert grpc_line and grpc_line[0]["status"] == "OK" and "ListRewards" in grpc_line[0]["path"]
    assert any(e["logger"].startswith("uvicorn") for e in lines)  # uvicorn's lines too


def test_metrics_show_queue_and_pool_gauges(server: Server):
    httpx.post(f"{server.url}/v1/score", json={"reward": "math", "items": SLOW["items"][1:]})
    scraped = httpx.get(f"{server.url}/metrics").text
    assert metric(scraped, "rewardgym_pending_items") == 0.0
    assert metric(scraped, "rewardgym_in_flight_requests") == 0.0
    pools = re.findall(r'rewardgym_pool_busy\{pool="([^"]+)"\}', scraped)
    assert any("math" in p for p in pools), pools
    assert metric(scraped, "rewardgym_requests_total", reward="math", kind="score")


# ---- the shared judgment cache: a real redis-server --------------------------------------------


def judge_config(tmp_path: Path, model: Path) -> Path:
    config = {
        "rewards": [
            {
                "name": "judge",
                "type": "pointwise",
                "params": {
                    "rubric": "helpfulness10",
                    "verdict": "logprobs",
                    "backend": {"kind": "transformers", "model": str(model), "cache": True},
                },
            }
        ]
    }
    path = tmp_path / "judge.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


ITEMS = [{"prompt": f"Is {n} prime?", "response": f"{n} is prime."} for n in (2, 9, 11, 15)]


def _judged(url: str, items: list[dict[str, str]] = ITEMS) -> list[dict[str, Any]]:
    response = httpx.post(f"{url}/v1/score", json={"reward": "judge", "items": items}, timeout=120)
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


def _backend_calls(url: str) -> float:
    scraped = httpx.get(f"{url}/metrics").text
    total = 0.0
    for line in scraped.splitlines():
        if line.startswith("rewardgym_backend_seconds_count"):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.mark.slow
def test_two_replicas_reuse_each_other_s_judgments_through_redis(
    redis_url: str, tiny_judge_dir: Path, tmp_path: Path
):
    import redis

    config = judge_config(tmp_path, tiny_judge_dir)
    env = {"REWARDGYM_CACHE_URL": redis_url}
    first, second = start_server(env, config), start_server(env, config)
    try:
        judged = _judged(first.url)
        assert len(judged) == len(ITEMS)
        assert all(r["error"] is None and not r["cached"] for r in judged)
        assert _backend_calls(first.url) == len(ITEMS)
        keys = redis.Redis.from_url(redis_url).keys("rewardgym:judgments:*")
        assert len(keys) == len(ITEMS) + 1  # the judgments, and their index by time
        reused = _judged(second.url)
        assert len(reused) == len(ITEMS)
        assert all(r["cached"] for r in reused)
        assert [r["score"] for r in reused] == [r["score"] for r in judged]
        assert _backend_calls(second.url) == 0  # the second replica never ran its model
        scraped = httpx.get(f"{second.url}/metrics").text
        assert metric(scraped, "rewardgym_cache_total", cache="redis", outcome="hit") == len(ITEMS)
    finally:
        stop_server(first)
        stop_server(second)


@pytest.mark.slow
def test_redis_down_means_judging_without_the_cache_then_it_comes_back(
    tiny_judge_dir: Path, tmp_path: Path
):
    import redis

    port = free_loopback_port()  # nothing listens here yet: Redis is down
    url = f"redis://127.0.0.1:{port}/0"
    server = start_server({"REWARDGYM_CACHE_URL": url}, judge_config(tmp_path, tiny_judge_dir))
    try:
        started = time.monotonic()
        judged = _judged(server.url)
        assert len(judged) == len(ITEMS)
        assert all(r["error"] is None and r["score"] is not None for r in judged)
        assert time.monotonic() - started < 30  # no hang on the cache
        scraped = httpx.get(f"{server.url}/metrics").text
        assert (metric(scraped, "rewardgym_cache_total", cache="redis", outcome="error") or 0) >= 1
        assert httpx.get(f"{server.url}/healthz").status_code == 200
        binary = shutil.which("redis-server")
        if binary is None:
            return  # the fallback is shown; the recovery needs a redis-server
        process = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--dir",
                str(tmp_path),
            ],
            stdout=subprocess.DEVNULL,
        )
        try:
            time.sleep(5.5)  # the cache rests 5 s after a failure, then tries Redis again
            _judged(server.url, [{"prompt": "Is 7 prime?", "response": "Yes."}])
            stored = redis.Redis.from_url(url).keys("rewardgym:judgments:*")
            assert len(stored) == 2  # the judgment, and the index of judgments by time
        finally:
            process.terminate()
            process.wait(timeout=10)
    finally:
        stop_server(server)
