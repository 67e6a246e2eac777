"""An MCP server's tools as rewardgym ``Tool`` s (``pip install 'rewardgym[mcp]'``).

``McpServer(["python", "server.py"])`` starts a stdio server (the command runs on this host,
with the rights of this process: name only servers you trust); ``McpServer("http://host/mcp")``
connects to a Streamable HTTP one. The connection lives on a thread of its own with its own
event loop, so its tools are plain blocking callables like every other tool: a call waits at
most ``timeout_s``, a tool that reports an error is a ``ToolError`` the model reads, and
results longer than ``max_chars`` are cut. ``close()`` (or ``with``) ends the connection and
a stdio server's process.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from rewardgym.judges.tools.tool import Tool, ToolError

__all__ = ["McpServer"]

CLOSE_WAIT_S = 5.0
"""How long ``close()`` waits for the connection to end before it cancels it."""


class McpServer:
    """A connection to one MCP server and its tools.

    Args:
        server: a Streamable HTTP URL, or a stdio server's command and arguments.
        names: the tools to offer (default: all the server lists).
        timeout_s: the longest a connection or a call may take.
        max_chars: the most characters of a result the model gets.
        env: extra environment variables for a stdio server.
    """

    def __init__(
        self,
        server: str | Sequence[str],
        *,
        names: Sequence[str] | None = None,
        timeout_s: float = 30.0,
        max_chars: int = 8000,
        env: dict[str, str] | None = None,
    ) -> None:
        try:
            import mcp
        except ImportError as exc:
            raise ImportError("MCP tools need mcp: pip install 'rewardgym[mcp]'") from exc
        if isinstance(server, str):
            target: Any = server
        else:
            command, *args = server
            target = mcp.StdioServerParameters(command=command, args=args, env=env)
        self.timeout_s, self.max_chars = timeout_s, max_chars
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._client: Any = None
        self._listed: list[Any] = []
        self._thread = threading.Thread(
            target=self._loop.run_until_complete,
            args=(self._serve(mcp.Client(target, read_timeout_seconds=timeout_s)),),
            name="rewardgym-mcp",
            daemon=True,
        )
        self._thread.start()
        if not self._ready.wait(timeout_s) or self._failed is not None:
            self.close()
            why = self._failed or f"no answer in {timeout_s:g} s"
            raise ConnectionError(f"MCP server {server!r} did not start: {why}") from None
        listed = {t.name: t for t in self._listed}
        unknown = sorted(set(names or ()) - set(listed))
        if unknown:
            self.close()
            raise ValueError(f"MCP server has no tools {unknown}; it has {sorted(listed)}")
        self.tools = [self._tool(listed[n]) for n in (names or listed)]

    async def _serve(self, client: Any) -> None:
        try:
            async with client:
                self._client = client
                self._listed = list((await client.list_tools()).tools)
                self._ready.set()
                await self._stop.wait()
        except BaseException as exc:  # the connection failed: the caller is told why
            self._failed = exc
            self._ready.set()

    def _tool(self, listed: Any) -> Tool:
        name = listed.name
        given = listed.input_schema if isinstance(listed.input_schema, dict) else {}
        properties = given.get("properties")
        required = given.get("required")
        schema = {  # what Tool.check reads, whatever valid JSON Schema the server sent
            **given,
            "type": "object",
            "properties": properties if isinstance(properties, dict) else {},
            "required": [r for r in required if isinstance(r, str)]
            if isinstance(required, list)
            else [],
        }

        def call(**arguments: Any) -> str:
            return self.call(name, arguments)

        description = (listed.description or name).split("\n\n")[0].replace("\n", " ").strip()
        return Tool(name=name, description=description, parameters=schema, function=call)

    def call(self, name: str, arguments: dict[str, Any]) -> str:
        """The text a tool returns; a ``ToolError`` when it fails, reports an error or is late."""
        if self._client is None or self._stop.is_set():
            raise ToolError(f"{name}: its MCP server is closed")
        future = asyncio.run_coroutine_threadsafe(
            self._client.call_tool(name, arguments), self._loop
        )
        try:
            result = future.result(self.timeout_s)
        except FutureTimeout:
            future.cancel()
            raise ToolError(f"{name} took longer than {self.timeout_s:g} s") from None
        except Exception as exc:
            raise ToolError(f"{name} failed: {type(exc).__name__}: {exc}"[:2000]) from None
        parts = [getattr(c, "text", None) or f"[{c.type} content]" for c in result.content]
        text = "\n".join(parts)[: self.max_chars]
        if result.is_error:
            raise ToolError(text or f"{name} reported an error")
        return text

    def close(self) -> None:
        """End the connection (and a stdio server's process): within a few seconds, also when
        the server never answered (the connection attempt is cancelled, not waited out)."""
        if self._loop.is_closed():
            return
        connected = self._ready.is_set() and self._failed is None
        self._loop.call_soon_threadsafe(self._stop.set if connected else self._cancel_all)
        self._thread.join(CLOSE_WAIT_S)
        if self._thread.is_alive():  # a server that does not let go: cancel, wait once more
            self._loop.call_soon_threadsafe(self._cancel_all)
            self._thread.join(CLOSE_WAIT_S)
        if not self._thread.is_alive():
            self._loop.close()

    def _cancel_all(self) -> None:
        for task in asyncio.all_tasks(self._loop):
            task.cancel()

    def __enter__(self) -> McpServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
