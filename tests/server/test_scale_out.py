"""Scale-out as compose runs it, without Docker: ``deploy/haproxy.cfg`` as is (HAProxy from
Debian) in front of three replicas on 127.0.0.2-4, found through DNS the way compose's
``--scale server=3`` is (a small DNS server here answers the replicas' name with their three
addresses), and one Redis for the judgment cache. Requests spread over the replicas, HTTP and
gRPC; a judgment made by one replica is a cache hit on the others; a replica that drains gets
no new calls."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rewardgym.judges.runtime.ports import free_loopback_port
from tests.conftest import scripted_judge
from tests.judges.test_judge_faults import _completion

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("haproxy") is None,
        reason="HAProxy is not installed (scripts/test installs it with apt-get)",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
REPLICAS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
NAME = "server"  # as in compose: the service's name


def _dns_answer(query: bytes, addresses: tuple[str, ...]) -> bytes:
    """A reply to a DNS query: every address for an A question, none for anything else."""
    ident, _flags, qdcount = struct.unpack(">HHH", query[:6])
    end = 12
    while query[end] != 0:
        end += query[end] + 1
    question = query[12 : end + 5]
    qtype = struct.unpack(">H", query[end + 1 : end + 3])[0]
    answers = b""
    count = 0
    if qtype == 1:  # A
        for address in addresses:
            answers += b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 5, 4) + socket.inet_aton(address)
            count += 1
    header = struct.pack(">HHHHHH", ident, 0x8180, qdcount, count, 0, 0)
    return header + question + answers


@pytest.fixture()
def dns() -> Iterator[str]:
    """A DNS server on loopback that answers every A query with the replicas' addresses."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                query, peer = sock.recvfrom(2048)
            except TimeoutError:
                continue
            try:
                sock.sendto(_dns_answer(query, REPLICAS), peer)
            except (IndexError, struct.error):
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"127.0.0.1:{sock.getsockname()[1]}"
    stop.set()
    thread.join(2)
    sock.close()


def _judge(path: str, body: dict[str, Any]) -> bytes:
    return _completion('{"score": 7, "critique": "fine"}')


def _requests(metrics: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("rewardgym_requests_total{")
    )


def test_requests_spread_over_three_replicas_behind_haproxy_and_share_one_cache(
    dns: str, redis_url: str, tmp_path: Path
):
    from rewardgym.client.grpc import GrpcRewardClient
    from rewardgym.schema import Item, RewardSpec

    http_port, grpc_port = free_loopback_port(), free_loopback_port()
    lb_http, lb_grpc = free_loopback_port(), free_loopback_port()
    judged: list[dict[str, Any]] = []
    replicas: list[subprocess.Popen[bytes]] = []
    balancer = None
    with scripted_judge(_judge, judged) as judge_url:
        try:
            env = {
                **os.environ,
                "REWARDGYM_CACHE_URL": redis_url,
                "REWARDGYM_INLINE_SPECS": "any",
                "REWARDGYM_AUDIT_PER_MINUTE": "0",
                "REWARDGYM_SHUTDOWN_GRACE_S": "5",
            }
            for host in REPLICAS:
                replicas.append(
                    subprocess.Popen(
                        [
                            *(sys.executable, "-m", "rewardgym", "serve", "--host", host),
                            *("--port", str(http_port), "--grpc-port", str(grpc_port)),
                        ],
                        env=env,
                        stdout=subprocess.DEVNULL,
                    )
                )
            balancer = subprocess.Popen(
                ["haproxy", "-db", "-f", str(ROOT / "deploy" / "haproxy.cfg")],
                env={
                    "PATH": os.environ["PATH"],
                    "REWARDGYM_DNS": dns,
                    "REWARDGYM_REPLICAS": NAME,
                    "REWARDGYM_HTTP_PORT": str(http_port),
                    "REWARDGYM_GRPC_PORT": str(grpc_port),
                    "REWARDGYM_LB_BIND": "127.0.0.1",
                    "REWARDGYM_LB_HTTP_PORT": str(lb_http),
                    "REWARDGYM_LB_GRPC_PORT": str(lb_grpc),
                },
                stderr=(tmp_path / "haproxy.log").open("w"),
            )
            url = f"http://127.0.0.1:{lb_http}"
            direct = [f"http://{host}:{http_port}" for host in REPLICAS]
            exact = {"reward": "exact_match", "items": [{"response": "a", "reference": "a"}]}
            rpc = GrpcRewardClient(f"127.0.0.1:{lb_grpc}")  # one HTTP/2 connection
            _wait_until_all_up(direct, lambda: httpx.post(f"{url}/v1/score", json=exact), balancer)
            one = [Item(response="a", reference="a")]
            _wait_until_all_up(direct, lambda: rpc.score("exact_match", one), balancer)

            before = [_requests(httpx.get(f"{d}/metrics").text) for d in direct]
            for _ in range(30):
                answered = httpx.post(f"{url}/v1/score", json=exact, timeout=30)
                assert answered.status_code == 200, answered.text
            middle = [_requests(httpx.get(f"{d}/metrics").text) for d in direct]
            for _ in range(12):
                [result] = rpc.score("exact_match", one)
                assert result.score == 1.0
            rpc.close()
            after = [_requests(httpx.get(f"{d}/metrics").text) for d in direct]
            http = [round(m - b) for m, b in zip(middle, before, strict=True)]
            grpc = [round(a - m) for a, m in zip(after, middle, strict=True)]
            print(f"\nthrough HAProxy, per replica: 30 HTTP calls {http}, 12 gRPC calls {grpc}")
            assert http == [10, 10, 10], http  # round robin
            assert sum(grpc) == 12 and min(grpc) >= 3, grpc  # each call balanced, not the channel

            judge = RewardSpec.model_validate(
                {"type": "pointwise", "params": {"backend": {"base_url": judge_url, "model": "m"}}}
            )
            body = {
                "reward": judge.model_dump(mode="json", exclude_none=True),
                "items": [{"prompt": "Say hi.", "response": "hi"}],
            }
            cached = []
            for _ in range(6):  # round robin: the same item reaches every replica twice
                answered = httpx.post(f"{url}/v1/score", json=body, timeout=60)
                [result] = answered.json()["results"]
                assert result.get("error") is None, result
                cached.append(result["cached"])
            hits = [
                sum(
                    float(line.rsplit(" ", 1)[1])
                    for line in httpx.get(f"{d}/metrics").text.splitlines()
                    if line.startswith("rewardgym_cache_total{") and 'outcome="hit"' in line
                )
                for d in direct
            ]
            print(f"judge calls: {len(judged)}, cached: {cached}, cache hits per replica: {hits}")
            assert len(judged) == 1  # one replica asked the judge; the others read Redis
            assert cached == [False, True, True, True, True, True]
            assert sum(1 for h in hits if h > 0) >= 2  # hits on replicas that never judged it

            replicas[0].send_signal(signal.SIGTERM)  # drains: /readyz 503, then it stops
            replicas[0].wait(timeout=30)
            time.sleep(5)  # two failed checks (2 s apart) take it out
            for _ in range(12):
                answered = httpx.post(f"{url}/v1/score", json=exact, timeout=30)
                assert answered.status_code == 200, answered.text  # the other two answer
        finally:
            if balancer is not None:
                balancer.terminate()
                balancer.wait(timeout=10)
            for process in replicas:
                if process.poll() is None:
                    process.terminate()
            for process in replicas:
                process.wait(timeout=30)


def _wait_until_all_up(direct: list[str], send: Any, balancer: subprocess.Popen[bytes]) -> None:
    """Every replica ready, then reached through the balancer by ``send()`` (its checks run
    every 2 s, each backend's on its own)."""
    deadline = time.monotonic() + 120
    for replica in direct:
        while True:
            assert time.monotonic() < deadline, f"{replica} did not become ready"
            try:
                if httpx.get(f"{replica}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
    seen: set[str] = set()
    while len(seen) < len(direct):
        assert balancer.poll() is None, "haproxy exited"
        assert time.monotonic() < deadline, f"the balancer reached only {seen}"
        before = {d: _requests(httpx.get(f"{d}/metrics").text) for d in direct}
        try:
            send()
        except Exception:  # not up behind the balancer yet
            time.sleep(0.2)
            continue
        seen |= {d for d in direct if _requests(httpx.get(f"{d}/metrics").text) > before[d]}
