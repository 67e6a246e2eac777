"""A real MCP server (the mcp SDK's own) for the MCP tool tests: ``python mcp_units_server.py``
serves stdio; ``python mcp_units_server.py PORT`` serves Streamable HTTP on loopback."""

import sys
import time

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

app = MCPServer("units")
FACTORS = {"km": 1000.0, "m": 1.0, "cm": 0.01, "mile": 1609.344}


@app.tool()
def to_metres(value: float, unit: str) -> str:
    """Convert a length to metres.

    Units: km, m, cm, mile."""
    if unit not in FACTORS:
        raise ToolError(f"unknown unit {unit!r}; units: {sorted(FACTORS)}")
    return f"{value * FACTORS[unit]:g}"


@app.tool()
def stall(seconds: float) -> str:
    """Sleep, then answer (a tool that hangs, for the timeout test)."""
    time.sleep(seconds)
    return "late"


if __name__ == "__main__":
    if len(sys.argv) > 1:
        app.run("streamable-http", host="127.0.0.1", port=int(sys.argv[1]))
    else:
        app.run()
