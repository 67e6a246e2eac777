"""MCP servers as tools: a real MCP server (the mcp SDK's own, ``tests/data/mcp_units_server.py``)
over stdio and over Streamable HTTP; its tools in a ToolUse episode; a tool that errors or
hangs is a tool error for the model; a server that cannot start is a clear error."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytest.importorskip("mcp", reason="MCP tools need the mcp extra (scripts/test installs it)")

from rewardgym.envs.tool_use import ToolUseEnv
from rewardgym.judges.runtime.ports import free_loopback_port
from rewardgym.judges.tools import ToolError
from rewardgym.judges.tools.mcp_tools import McpServer

SERVER = Path(__file__).resolve().parent.parent / "data" / "mcp_units_server.py"
STDIO = [sys.executable, str(SERVER)]


def call(name: str, **arguments: object) -> str:
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


@pytest.fixture(scope="module")
def http_mcp() -> Iterator[str]:
    """The same server over Streamable HTTP on a loopback port."""
    port = free_loopback_port()
    process = subprocess.Popen(
        [*STDIO, str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}/mcp"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.2)
    try:
        yield url
    finally:
        process.kill()  # its stalled tool's thread would hold a plain terminate
        process.wait(10)


def test_a_stdio_servers_tools_are_listed_with_their_schemas_and_called():
    with McpServer(STDIO, timeout_s=20) as server:
        tools = {tool.name: tool for tool in server.tools}
        assert set(tools) == {"to_metres", "stall"}
        convert = tools["to_metres"]
        assert convert.description == "Convert a length to metres."
        assert convert.parameters["required"] == ["value", "unit"]
        assert convert({"value": 2, "unit": "km"}) == "2000"
        with pytest.raises(ToolError, match="unknown unit 'furlong'"):
            convert({"value": 1, "unit": "furlong"})  # the server's own error, for the model
        with pytest.raises(ToolError, match="missing arguments"):
            convert({"value": 1})  # checked against the schema before the server sees it


def test_a_streamable_http_server_works_the_same(http_mcp: str):
    with McpServer(http_mcp, names=["to_metres"], timeout_s=20) as server:
        [convert] = server.tools
        assert convert({"value": 3, "unit": "mile"}) == "4828.03"


def test_a_tool_that_hangs_is_a_tool_error_after_the_timeout_fault_injection(http_mcp: str):
    with McpServer(http_mcp, names=["stall"], timeout_s=2) as server:
        started = time.monotonic()
        with pytest.raises(ToolError, match="took longer than 2 s"):
            server.tools[0]({"seconds": 30})
        assert time.monotonic() - started < 5


def test_a_server_that_cannot_start_or_lacks_a_tool_is_a_clear_error():
    with pytest.raises(ConnectionError, match="did not start"):
        McpServer([sys.executable, "-c", "import sys; sys.exit(3)"], timeout_s=10)
    with pytest.raises(
        ValueError, match=r"no tools \['weather'\]; it has \['stall', 'to_metres'\]"
    ):
        McpServer(STDIO, names=["weather"], timeout_s=20)


def test_a_scripted_policy_solves_a_task_with_an_mcp_tool_and_the_server_ends_with_the_env():
    env = ToolUseEnv(tools=[], mcp=[STDIO], tool_rewards={"valid": 0.1})
    task = {"prompt": "How many metres are 2.5 km?", "reference": "2500"}
    _, info = env.reset(options={"task": task})
    assert {t["function"]["name"] for t in info["tools"]} == {"to_metres", "stall"}
    obs, reward, *_ = env.step(call("to_metres", value=2.5, unit="km"))
    assert obs == "2500"
    assert reward == pytest.approx(0.1)
    obs, reward, *_ = env.step(call("to_metres", value=1, unit="parsec"))
    assert "unknown unit 'parsec'" in obs and reward == pytest.approx(-0.1)
    _, reward, terminated, _, info = env.step("\\boxed{2500}")
    assert terminated and reward == 1.0 and info["stop"] == "final_answer"
    [server] = env.mcp_servers
    assert stdio_servers_running() == 1
    env.close()
    with pytest.raises(ToolError, match="closed"):
        server.call("to_metres", {"value": 1, "unit": "m"})
    assert stdio_servers_running() == 0


def stdio_servers_running() -> int:
    """Processes on this host running the test server over stdio."""
    found = 0
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")[:-1]
        except OSError:
            continue
        found += [a.decode() for a in argv] == STDIO
    return found


def test_a_tool_that_would_shadow_another_is_refused_and_nothing_is_left_running():
    def to_metres(value: float, unit: str) -> str:
        """Already here."""
        return "0"

    with pytest.raises(ValueError, match="MCP tool 'to_metres' has the name of another tool"):
        ToolUseEnv(tools=[to_metres], mcp=[STDIO])
    bad = [sys.executable, "-c", "import sys; sys.exit(3)"]
    with pytest.raises(ConnectionError):
        ToolUseEnv(tools=[], mcp=[STDIO, bad])  # the first one connected, then closed
    assert stdio_servers_running() == 0


def test_mcp_tools_through_trls_factory_are_refused_with_why():
    from rewardgym.integrations.trl_env import environment_factory

    with pytest.raises(ValueError, match="use them in a Gymnasium loop or over OpenEnv"):
        environment_factory("rewardgym/ToolUse-v0", mcp=[STDIO])


def test_json_schemas_tool_check_does_not_know_still_let_the_call_through():
    from rewardgym.judges.tools import Tool

    def echo(**kwargs: object) -> str:
        return json.dumps(kwargs)

    odd = {"type": "object", "properties": {"xs": {"type": "array"}, "y": True}, "required": []}
    tool = Tool("echo", "odd schema", odd, echo)
    assert tool({"xs": [1, "a"], "y": None}) == '{"xs": [1, "a"], "y": null}'
    with pytest.raises(ToolError, match="xs must be a array"):
        tool({"xs": "not a list"})


def test_a_server_that_never_answers_fails_within_its_timeout_and_leaves_nothing():
    silent = [sys.executable, "-c", "import sys\nfor line in sys.stdin:\n    pass"]
    started = time.monotonic()
    with pytest.raises(ConnectionError, match="did not start"):
        McpServer(silent, timeout_s=3)
    assert time.monotonic() - started < 3 + 6  # not twice the timeout
    deadline = time.monotonic() + 5
    while any(t.name == "rewardgym-mcp" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the connection's thread outlived close()"
        time.sleep(0.1)
