"""The trust boundary, attacked as a key holder would: through a real server with auth on.

Every attack asserts the documented answer (403 naming the parameter, 422 naming the field, a
per-item error) and that the server stays healthy: ``/healthz`` answers within 1 s while the
attack runs. The judge backend here is a scripted local HTTP server (fault injection: one that
answers, and one that trickles a byte a second).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from rewardgym.client.grpc import GrpcRewardClient
from rewardgym.errors import ForbiddenError, UnauthorizedError
from rewardgym.judges.runtime.sandbox import find_bwrap
from tests.conftest import Server, local_http_server, start_server, stop_server
from tests.judges.test_judge_faults import _completion as completion

KEY = secrets.token_hex(16)
TRUSTED_KEY = secrets.token_hex(16)
SECRET_VALUE = "s3cr3t-" + secrets.token_hex(8)
MARKER_DIR = Path(f"/tmp/rewardgym-attack-{os.getpid()}")


class _Judge(BaseHTTPRequestHandler):
    """A scripted OpenAI-compatible judge: ``/ok`` answers, ``/trickle`` sends a byte a second."""

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = completion("Fine.\nScore: 7")
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.path.startswith("/trickle"):
            for byte in body[:30]:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(1.0)
            return
        self.wfile.write(body)


@pytest.fixture(scope="module")
def judge() -> Iterator[str]:
    with local_http_server(_Judge) as url:
        yield url


def _config(tmp: Path, judge: str) -> Path:
    evil = (
        "{{ cycler.__init__.__globals__.os.popen('touch " + str(MARKER_DIR) + "-jinja').read() }}"
    )
    config = {
        "backends": {
            "judge": {"base_url": f"{judge}/ok/v1", "model": "m", "cache": False},
            "trickle": {
                "base_url": f"{judge}/trickle/v1",
                "model": "m",
                "cache": False,
                "timeout_s": 2,
                "max_retries": 0,
            },
        },
        "rewards": [
            {"name": "math", "type": "math", "params": {"timeout_s": 5}},
            {"name": "exact_match", "type": "string_check", "params": {"lowercase": True}},
            {
                "name": "judge",
                "type": "pointwise",
                "params": {"backend": "judge", "verdict": "text"},
            },
            {
                "name": "slow_judge",
                "type": "pointwise",
                "params": {"backend": "trickle", "verdict": "text"},
            },
            {
                "name": "evil_template",
                "type": "pointwise",
                "params": {"backend": "judge", "verdict": "text", "user_template": evil},
            },
        ],
    }
    path = tmp / "security.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, judge: str) -> Iterator[Server]:
    config = _config(tmp_path_factory.mktemp("security"), judge)
    env = {
        "REWARDGYM_API_KEYS": KEY,
        "REWARDGYM_TRUSTED_API_KEYS": TRUSTED_KEY,
        "REWARDGYM_SECURITY_TEST_SECRET": SECRET_VALUE,
        "REWARDGYM_REQUEST_DEADLINE_S": "20",
    }
    server = start_server(env, config=config)
    yield server
    stop_server(server)


class AttackClient(httpx.Client):
    """Every POST runs while /healthz is probed: each probe must answer within 1 s, and the
    server must answer /healthz after the attack too."""

    health_url = ""

    def post(self, *args: Any, **kwargs: Any) -> httpx.Response:  # type: ignore[override]
        return _healthy_during(
            self.health_url, lambda: super(AttackClient, self).post(*args, **kwargs)
        )


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    headers = {"authorization": f"Bearer {KEY}"}
    with AttackClient(base_url=server.url, headers=headers, timeout=60) as client:
        client.health_url = f"{server.url}/healthz"
        yield client


def _healthy_during(health_url: str, attack: Callable[[], httpx.Response]) -> httpx.Response:
    """Run ``attack`` while probing /healthz; every probe must answer within 1 s."""
    slowest = 0.0
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(attack)
        while not future.done():
            started = time.perf_counter()
            assert httpx.get(health_url, timeout=5).status_code == 200
            slowest = max(slowest, time.perf_counter() - started)
            time.sleep(0.05)
        response = future.result()
    assert slowest < 1.0, f"/healthz took {slowest:.2f} s during the attack"
    assert httpx.get(health_url, timeout=1).status_code == 200
    return response


def _score(http: httpx.Client, reward: Any, items: list[dict[str, Any]]) -> httpx.Response:
    return http.post("/v1/score", json={"reward": reward, "items": items})


ITEM = [{"response": "print(1)", "reference": "1"}]

FORBIDDEN = [
    ({"type": "code", "params": {"sandbox": "none"}}, "reward.params.sandbox"),
    ({"type": "code", "params": {"workers": 200}}, "reward.params.workers"),
    ({"type": "code", "params": {"memory_mb": 60000}}, "reward.params.memory_mb"),
    ({"type": "math", "params": {"workers": 40}}, "reward.params.workers"),
    ({"type": "math", "params": {"timeout_s": 600}}, "reward.params.timeout_s"),
    (
        {"type": "pointwise", "params": {"backend": "judge", "user_template": "{{ 7*7 }}"}},
        "reward.params.user_template",
    ),
    (
        {
            "type": "pointwise",
            "params": {
                "backend": {
                    "base_url": "http://127.0.0.1:9/v1",
                    "model": "m",
                    "api_key_env": "REWARDGYM_API_KEYS",
                }
            },
        },
        "reward.params.backend",
    ),
    (
        {
            "type": "pointwise",
            "params": {"backend": {"model": "m", "base_url": "x", "cache": "/x"}},
        },
        "reward.params.backend",
    ),
    ({"type": "reward_model", "params": {"model": "/root"}}, "reward.params.model"),
    (
        {"type": "pointwise", "params": {"backend": "judge", "samples": 32, "temperature": 1}},
        "reward.params.samples",
    ),
    (
        {"type": "listwise", "params": {"backend": "judge", "permutations": 8}},
        "reward.params.permutations",
    ),
    ({"type": "embedding_similarity", "params": {"device": "cuda"}}, "reward.params.device"),
    ({"type": "reasoning_gym", "params": {"sandbox": "none"}}, "reward.params.sandbox"),
    (
        {
            "type": "weighted",
            "params": {"components": [{"reward": {"type": "code", "params": {"sandbox": "none"}}}]},
        },
        "reward.params.components[0].reward.params.sandbox",
    ),
]


@pytest.mark.parametrize(("spec", "where"), FORBIDDEN, ids=[w for _, w in FORBIDDEN])
def test_host_touching_params_are_refused_with_403(
    http: httpx.Client, server: Server, spec: dict[str, Any], where: str
):
    response = _score(http, spec, ITEM)
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["code"] == "forbidden" and error["parameter"] == where
    assert "REWARDGYM_TRUSTED_API_KEYS" in error["message"]


def test_grpc_refuses_the_same_with_permission_denied(server: Server):
    client = GrpcRewardClient(server.grpc_target, api_key=KEY, retries=0, timeout=30)
    with pytest.raises(ForbiddenError, match=r"reward\.params\.sandbox"):
        client.score({"type": "code", "params": {"sandbox": "none"}}, ITEM)
    with grpc.insecure_channel(server.grpc_target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        status = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status
        assert status == health_pb2.HealthCheckResponse.SERVING


def test_streams_need_the_key_and_refuse_the_same_specs_per_item(server: Server):
    """Both scoring streams (gRPC ``ScoreStream``, HTTP NDJSON) are guarded as the batch
    calls are: no key, no stream; each forbidden inline spec is that item's ``forbidden``
    error naming the parameter, and the items around it are scored."""
    sent = [{"id": "ok", "reward": "exact_match", "item": {"response": "a", "reference": "a"}}]
    sent += [
        {"id": where, "reward": spec, "item": {"response": "print(1)", "reference": "1"}}
        for spec, where in FORBIDDEN
    ]
    with pytest.raises(UnauthorizedError):
        list(GrpcRewardClient(server.grpc_target, retries=0).score_stream(iter(sent)))
    lines = "\n".join(json.dumps(s) for s in sent)
    assert httpx.post(f"{server.url}/v1/score/stream", content=lines).status_code == 401
    with GrpcRewardClient(server.grpc_target, api_key=KEY, retries=0) as client:
        over_grpc = {a.id: a for a in client.score_stream(iter(sent), timeout=60)}
    answered = httpx.post(
        f"{server.url}/v1/score/stream",
        content=lines,
        headers={"authorization": f"Bearer {KEY}"},
        timeout=60,
    )
    assert answered.status_code == 200, answered.text
    over_http = {a["id"]: a for a in map(json.loads, answered.text.splitlines())}
    for got in (over_grpc, over_http):
        assert set(got) == {s["id"] for s in sent}
    assert over_grpc["ok"].result is not None and over_grpc["ok"].result.score == 1.0
    assert over_http["ok"]["result"]["score"] == 1.0
    for _, where in FORBIDDEN:
        for error in (over_grpc[where].error, over_http[where]["error"]):
            assert error is not None, where
            assert error["code"] == "forbidden" and error["parameter"] == where


def test_lowered_limits_and_named_backends_are_allowed(http: httpx.Client):
    response = _score(http, {"type": "math", "params": {"timeout_s": 1}}, [ITEM[0]])
    assert response.status_code == 200, response.text
    judge = {"type": "pointwise", "params": {"backend": "judge", "verdict": "text"}}
    response = _score(http, judge, [{"prompt": "q", "response": "a"}])
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["score"] == pytest.approx((7 - 1) / 9)
    unknown = {"type": "pointwise", "params": {"backend": "elsewhere"}}
    response = _score(http, unknown, ITEM)
    assert response.status_code == 422
    assert response.json()["error"]["known_backends"] == ["judge", "trickle"]


def test_a_trusted_key_may_set_host_params(server: Server):
    headers = {"authorization": f"Bearer {TRUSTED_KEY}"}
    body = {"reward": {"type": "math", "params": {"timeout_s": 30}}, "items": [ITEM[0]]}
    response = httpx.post(f"{server.url}/v1/score", json=body, headers=headers, timeout=30)
    assert response.status_code == 200, response.text


@pytest.mark.slow
def test_inline_specs_can_be_turned_off():
    server = start_server({"REWARDGYM_API_KEYS": KEY, "REWARDGYM_INLINE_SPECS": "off"})
    try:
        headers = {"authorization": f"Bearer {KEY}"}
        body = {"reward": {"type": "string_check"}, "items": [{"response": "a", "reference": "a"}]}
        response = httpx.post(f"{server.url}/v1/score", json=body, headers=headers, timeout=30)
        assert response.status_code == 403
        assert "REWARDGYM_INLINE_SPECS" in response.text
        body["reward"] = "exact_match"
        response = httpx.post(f"{server.url}/v1/score", json=body, headers=headers, timeout=30)
        assert response.status_code == 200 and response.json()["results"][0]["score"] == 1.0
    finally:
        stop_server(server)


def test_config_templates_render_in_a_sandbox(http: httpx.Client):
    response = _score(http, "evil_template", [{"prompt": "q", "response": "a"}])
    assert response.status_code == 200
    result = response.json()["results"][0]
    assert result["score"] is None and result["error"]["type"] == "internal"
    assert not Path(f"{MARKER_DIR}-jinja").exists(), "the template ran a shell command"


def test_the_secret_environment_never_reaches_a_caller(http: httpx.Client, server: Server):
    """What the earlier hole did (sandbox none + /proc/<pid>/environ) is refused; and what a
    sandboxed program sees of the server's environment is nothing."""
    if find_bwrap() is None:
        pytest.skip("bubblewrap is not installed")
    program = (
        "import os, glob\nprint(dict(os.environ))\n"
        "for path in glob.glob('/proc/*/environ'):\n"
        "    try: print(open(path).read())\n"
        "    except OSError: pass\n"
        f"print(open('/proc/{server.process.pid}/environ').read())"
    )
    tests = {"cases": [{"input": "", "output": "x"}]}
    item = {"response": f"```python\n{program}\n```", "reference": tests}
    response = _score(http, {"type": "code"}, [item])
    assert response.status_code == 200
    assert response.json()["results"][0]["score"] == 0.0
    assert SECRET_VALUE not in response.text and KEY not in response.text


BAD_PATTERNS = [
    pytest.param("(?:a{65535}){65535}", id="huge-repetition"),
    pytest.param("(a)\\1", id="back-reference"),
    pytest.param("(?=a)a", id="look-ahead"),
    pytest.param("x" * 5000, id="over-length"),
]


@pytest.mark.parametrize("pattern", BAD_PATTERNS)
def test_unsupported_patterns_are_422_in_params_and_invalid_input_in_items(
    http: httpx.Client, server: Server, pattern: str
):
    spec = {"type": "string_check", "params": {"operation": "regex", "reference": pattern}}
    response = _score(http, spec, [{"response": "a"}])
    assert response.status_code == 422, response.text
    assert "regular expression" in response.json()["error"]["message"]
    spec = {"type": "string_check", "params": {"operation": "regex"}}
    response = _score(http, spec, [{"response": "a", "reference": pattern}])
    assert response.status_code == 200
    error = response.json()["results"][0]["error"]
    assert error["type"] == "invalid_input" and "regular expression" in error["message"]


@pytest.mark.parametrize("pattern", ["(a|aa)+b", "(a*)*b", "(?:a+)+b", "(a|a?)+b"])
def test_catastrophic_patterns_run_in_linear_time(http: httpx.Client, server: Server, pattern: str):
    items = [{"response": "a" * 30, "reference": pattern}] * 20
    spec = {"type": "string_check", "params": {"operation": "regex"}}
    started = time.perf_counter()
    response = _score(http, spec, items)
    assert response.status_code == 200, response.text
    assert [r["score"] for r in response.json()["results"]] == [0.0] * 20
    assert time.perf_counter() - started < 10


def test_a_large_catastrophic_batch_finishes_and_the_server_stays_free(
    http: httpx.Client, server: Server
):
    items = [{"response": "a" * 200, "reference": "(a|aa)+b"}] * 2000
    spec = {"type": "string_check", "params": {"operation": "regex"}}
    response = _score(http, spec, items)
    assert response.status_code == 200
    assert {r["score"] for r in response.json()["results"]} == {0.0}


@pytest.mark.slow
def test_fresh_patterns_do_not_grow_memory(http: httpx.Client, server: Server):
    before = _rss_mb(server.process.pid)
    for n in range(300):
        spec = {
            "type": "format",
            "params": {"pattern": f"(?:a{{{900 + n % 100}}}){{{n % 90 + 2}}}"},
        }
        response = _score(http, spec, [{"response": "a"}])
        assert response.status_code in (200, 422), response.text
    assert _rss_mb(server.process.pid) - before < 150


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _nested_weighted(depth: int) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "length"}
    for _ in range(depth):
        spec = {"type": "weighted", "params": {"components": [{"reward": spec}]}}
    return spec


def _deep_schema(depth: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(depth):
        schema = {"type": "array", "items": schema}
    return schema


def _formula(expression: str) -> dict[str, Any]:
    return {
        "type": "formula",
        "params": {"expression": expression, "components": [{"reward": "math", "name": "m"}]},
    }


SIZE_ATTACKS = [
    pytest.param(_nested_weighted(9), "REWARDGYM_INLINE_MAX_NESTING", id="nesting-9"),
    pytest.param(_nested_weighted(200), "REWARDGYM_INLINE_MAX_JSON_DEPTH", id="nesting-200"),
    pytest.param({"type": "json", "params": {"schema": _deep_schema(300)}}, "DEPTH", id="schema"),
    pytest.param(_formula("-" * 1998 + "m"), "nests more than", id="formula-unary"),
    pytest.param(_formula("m" + "^m" * 999), "nests more than", id="formula-power"),
    pytest.param(_formula("+".join(["m"] * 999)), "more than 200", id="formula-long-sum"),
    pytest.param(_formula("m" * 2001), "INLINE_MAX_FORMULA", id="formula-length"),
]


@pytest.mark.parametrize(("spec", "says"), SIZE_ATTACKS)
def test_oversized_specs_are_422_naming_the_limit(
    http: httpx.Client, server: Server, spec: dict[str, Any], says: str
):
    response = _score(http, spec, [{"response": "a"}])
    assert response.status_code == 422, response.text
    assert says in response.text


def test_a_lone_surrogate_is_422_naming_the_field(http: httpx.Client):
    body = b'{"reward": "exact_match", "items": [{"response": "ok", "reference": "ok"}, '
    body += b'{"response": "a\\ud800b", "reference": "x"}]}'
    response = http.post("/v1/score", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "items[1].response"
    pair = b'{"reward": "exact_match", "items": [{"response": "\\ud83d\\ude00", "reference": "x"}]}'
    response = http.post("/v1/score", content=pair, headers={"content-type": "application/json"})
    assert response.status_code == 200, "a valid surrogate pair (an emoji) is text"


WRONG_REFERENCES = [
    pytest.param("math", ["2", "3"], id="math-list"),
    pytest.param("math", {"a": 1}, id="math-object"),
    pytest.param("math", True, id="math-bool"),
    pytest.param("exact_match", [["a"]], id="string-check-nested-list"),
    pytest.param("exact_match", {"a": 1}, id="string-check-object"),
    pytest.param("exact_match", [], id="string-check-empty-list"),
]


@pytest.mark.parametrize(("reward", "reference"), WRONG_REFERENCES)
def test_wrong_typed_references_are_invalid_input(http: httpx.Client, reward: str, reference: Any):
    response = _score(http, reward, [{"response": r"\boxed{2} a", "reference": reference}])
    assert response.status_code == 200
    [result] = response.json()["results"]
    assert result["score"] is None
    assert (
        result["error"]["type"] == "invalid_input"
        and "reference must be" in result["error"]["message"]
    )


def test_openrlhf_labels_of_the_wrong_type_are_flagged(http: httpx.Client):
    body = {"query": ["q a"], "prompts": ["q "], "labels": [{"a": 1}]}
    response = http.post("/get_reward", params={"reward": "exact_match"}, json=body)
    assert response.status_code == 200
    assert response.json()["extra_logs"]["reward_error"] == [1.0]


@pytest.mark.slow
def test_inline_code_specs_share_one_metrics_series(http: httpx.Client, server: Server):
    for n in range(12):
        spec = {"type": "code", "params": {"excerpt_chars": n, "all_or_nothing": n % 2 == 0}}
        response = _score(http, spec, [{"response": "x", "reference": "assert True"}])
        assert response.status_code == 200, response.text
    metrics = http.get("/metrics").text
    pools = {
        line.split('pool="', 1)[1].split('"', 1)[0]
        for line in metrics.splitlines()
        if line.startswith("rewardgym_pool_busy{") and "sandbox:" in line
    }
    assert pools == {"sandbox:inline:code"}, pools
    reward_labels = {
        line.split('reward="', 1)[1].split('"', 1)[0]
        for line in metrics.splitlines()
        if line.startswith("rewardgym_requests_total{")
    }
    assert not any(
        label.startswith("inline:") and label != "inline:code" and "code" in label
        for label in reward_labels
    )


@pytest.mark.slow
def test_a_trickling_judge_is_cut_at_its_timeout_fault_injection(
    http: httpx.Client, server: Server
):
    started = time.perf_counter()
    response = _score(http, "slow_judge", [{"response": "a"}])
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    [result] = response.json()["results"]
    assert result["error"]["type"] == "timeout", result
    assert elapsed < 8, f"the call took {elapsed:.1f} s for timeout_s 2 (one byte a second)"


def test_a_caller_cannot_lengthen_the_deadline(http: httpx.Client):
    body = {
        "reward": {"type": "string_check", "params": {"operation": "regex"}},
        "items": [{"response": "a", "reference": "a"}],
        "options": {"deadline_s": 3600},
    }
    response = http.post("/v1/score", json=body)
    assert response.status_code == 200


@pytest.mark.slow
def test_reasoning_gym_checkers_that_eval_answers_run_in_the_sandbox(http: httpx.Client):
    if find_bwrap() is None:
        pytest.skip("bubblewrap is not installed")
    import reasoning_gym

    entry = reasoning_gym.create_dataset("countdown", size=1, seed=1)[0]
    marker = f"{MARKER_DIR}-rg"
    payload = f"__import__('os').system('touch {marker}')"
    items = [
        {
            "response": f"<answer>{payload}</answer>",
            "metadata": {"reasoning_gym": {"dataset": "countdown", "entry": entry}},
        },
        {
            "response": "<answer>1</answer>",
            "metadata": {
                "reasoning_gym": {
                    "dataset": "bitwise_arithmetic",
                    "entry": {"question": "?", "answer": "1", "metadata": {"problem": payload}},
                }
            },
        },
        {
            "response": f"<answer>{entry['answer']}</answer>",
            "metadata": {"reasoning_gym": {"dataset": "countdown", "entry": entry}},
        },
    ]
    response = _score(http, {"type": "reasoning_gym"}, items)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert results[2]["score"] == 1.0
    assert not Path(marker).exists(), "a checker ran the answer's code on the host"


@pytest.mark.slow
def test_http_answers_503_while_draining_and_exits_within_the_grace():
    server = start_server({"REWARDGYM_SHUTDOWN_GRACE_S": "8"})
    outcome: dict[str, httpx.Response] = {}
    body = {
        "reward": {"type": "math", "params": {"timeout_s": 3}},
        "items": [{"response": r"\boxed{9^{9^{9^{9^{9}}}}}", "reference": "1"}],
    }
    thread = threading.Thread(
        target=lambda: outcome.setdefault(
            "r", httpx.post(f"{server.url}/v1/score", json=body, timeout=30)
        )
    )
    thread.start()
    deadline = time.monotonic() + 20
    while httpx.get(f"{server.url}/readyz", timeout=5).json()["in_flight"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    signalled = time.monotonic()
    os.kill(server.process.pid, signal.SIGTERM)
    time.sleep(0.3)
    late = httpx.post(
        f"{server.url}/v1/score",
        json={"reward": "exact_match", "items": [{"response": "a", "reference": "a"}]},
        timeout=10,
    )
    assert late.status_code == 503 and "shutting down" in late.text
    assert int(late.headers["retry-after"]) >= 1
    assert httpx.get(f"{server.url}/readyz", timeout=5).status_code == 503
    thread.join(timeout=30)
    assert server.process.wait(timeout=30) == 0
    assert time.monotonic() - signalled < 8 + 3
    assert outcome["r"].status_code == 200


def _fanned_out_schema(levels: int) -> dict[str, Any]:
    """Three levels deep, 31 nodes, and 2^levels checks: each $def refers to the next twice."""
    defs: dict[str, Any] = {
        f"a{i}": {"allOf": [{"$ref": f"#/$defs/a{i + 1}"}, {"$ref": f"#/$defs/a{i + 1}"}]}
        for i in range(levels)
    }
    defs[f"a{levels}"] = {"type": "integer"}
    return {"$defs": defs, "$ref": "#/$defs/a0"}


@pytest.mark.slow
def test_a_schema_that_fans_out_is_cut_at_the_deadline(http: httpx.Client):
    """Found by the red team: it hung the event loop for good."""
    body = {
        "reward": {"type": "json", "params": {"schema": _fanned_out_schema(30)}},
        "items": [{"response": "1"}, {"response": "2"}],
        "options": {"deadline_s": 3},
    }
    started = time.perf_counter()
    response = http.post("/v1/score", json=body)
    assert response.status_code == 200, response.text
    assert [r["error"]["type"] for r in response.json()["results"]] == ["timeout"] * 2
    assert time.perf_counter() - started < 10


def test_a_fence_bomb_in_code_is_linear(http: httpx.Client):
    """Found by the red team: 200,000 backticks took a backtracking engine 32 s on the loop."""
    items = [
        {"response": "`" * 200_000, "reference": {"tests": ["assert True"]}},
        {
            "response": "\n" * 150_000,
            "reference": {"test": "def check(c): pass", "entry_point": "f"},
        },
    ]
    started = time.perf_counter()
    response = _score(http, {"type": "code"}, items)
    assert response.status_code == 200, response.text
    assert time.perf_counter() - started < 20


@pytest.mark.slow
def test_params_text_counts_toward_the_inline_budget(http: httpx.Client):
    """Found by the red team: a fixed 200 KB reference times every item was computed on the
    event loop (ROUGE-L is O(n*m) in pure Python). Now it goes to a killable worker."""
    spec = {"type": "text_similarity", "params": {"metric": "rougeL", "reference": "b " * 100_000}}
    body = {"reward": spec, "items": [{"response": "a " * 2_000}], "options": {"deadline_s": 4}}
    started = time.perf_counter()
    response = http.post("/v1/score", json=body)
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    assert result["score"] is not None or result["error"]["type"] == "timeout"
    assert time.perf_counter() - started < 10


def test_params_text_is_bounded(http: httpx.Client):
    spec = {"type": "string_check", "params": {"operation": "contains", "reference": "x" * 300_000}}
    response = _score(http, spec, [{"response": "a"}])
    assert response.status_code == 422
    assert "REWARDGYM_INLINE_MAX_PARAMS_CHARS" in response.json()["error"]["message"]


@pytest.mark.slow
def test_many_inline_code_specs_share_one_thread_pool(http: httpx.Client, server: Server):
    """Found by the red team: each inline code spec had a thread pool of its own (189 threads)."""
    items = [{"response": "x = 1", "reference": {"tests": ["assert True"]}}] * 4
    for n in range(40):
        response = _score(http, {"type": "code", "params": {"excerpt_chars": 100 + n}}, items)
        assert response.status_code == 200, response.text
    threads = int(
        next(
            line.split()[1]
            for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines()
            if line.startswith("Threads:")
        )
    )
    assert threads < 80, f"{threads} threads in the server after 40 inline code specs"
