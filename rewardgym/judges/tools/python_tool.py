"""``python``: code run in the code reward's sandbox (bubblewrap: no network, no host files,
bounded CPU, memory, processes and output), with state kept across the calls of an episode.

No process outlives a call: each call runs the episode's earlier cells again, silently, then
the new one, so variables and functions defined before are there, and an abandoned episode
leaves nothing to clean up. Bounded per call (``Limits``) and per episode (cells, seconds).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from rewardgym.judges.runtime.limits import Limits
from rewardgym.judges.runtime.sandbox import Sandbox, SandboxUnavailable
from rewardgym.judges.tools.tool import Tool, ToolError

__all__ = ["PythonSession", "python_tool"]

_PROGRAM = """\
import contextlib, io, sys, traceback
cells = {cells!r}
ns = {{"__name__": "__main__"}}
for cell in cells[:-1]:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            exec(compile(cell, "<cell>", "exec"), ns)
        except BaseException:
            pass
try:
    exec(compile(cells[-1], "<cell>", "exec"), ns)
except BaseException as exc:
    sys.stdout.flush()
    print("".join(traceback.format_exception_only(type(exc), exc)).strip(), file=sys.stderr)
    sys.exit(1)
"""

_SANDBOXES: dict[str, Sandbox] = {}
_LOCK = threading.Lock()


def _sandbox(kind: str) -> Sandbox:
    with _LOCK:
        if kind not in _SANDBOXES:
            _SANDBOXES[kind] = Sandbox(kind)  # type: ignore[arg-type]
        return _SANDBOXES[kind]


@dataclass
class PythonSession:
    """One episode's interpreter state: its cells that ran, and what they cost."""

    limits: Limits = field(default_factory=lambda: Limits(cpu_s=5, wall_s=10, memory_mb=256))
    max_cells: int = 16
    max_seconds: float = 60.0
    max_output: int = 4000
    sandbox_kind: str = "bubblewrap"
    cells: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def run(self, code: str) -> str:
        if len(self.cells) >= self.max_cells:
            raise ToolError(f"this episode ran its {self.max_cells} cells")
        if self.seconds >= self.max_seconds:
            raise ToolError(f"this episode used its {self.max_seconds:g} s of python")
        if len(code) > 20_000:
            raise ToolError("at most 20,000 characters of code a call")
        try:
            sandbox = _sandbox(self.sandbox_kind)
        except SandboxUnavailable as exc:
            raise ToolError(f"python is unavailable here: {exc}") from None
        ran = sandbox.run(_PROGRAM.format(cells=[*self.cells, code]), limits=self.limits)
        self.seconds += ran.wall_s
        if ran.timed_out or ran.signal is not None or (ran.exit_code or 0) >= 128:
            raise ToolError(
                f"the code was stopped at its limits ({self.limits.wall_s:g} s, "
                f"{self.limits.cpu_s} s of CPU, {self.limits.memory_mb} MB)"
            )
        output = ran.stdout[-self.max_output :]
        if ran.exit_code != 0:
            error = ran.stderr.strip().splitlines()[-1:] or [f"exit code {ran.exit_code}"]
            return (output + "\n" if output else "") + f"error: {error[0][:500]}"
        self.cells.append(code)
        return output or "(no output)"


def python_tool(session: PythonSession) -> Tool:
    def python(code: str) -> str:
        """Run Python code; what it prints comes back. Variables persist between calls."""
        return session.run(code)

    return Tool.from_function(python)
