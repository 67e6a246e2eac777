"""``python``: code run in the code reward's sandbox (bubblewrap: no network, no host files,
bounded CPU, memory, processes and output), with state kept across the calls of an episode.

No process outlives a call: each call runs the episode's earlier cells again, silently, then
the new one, so variables and functions defined before are there, and an abandoned episode
leaves nothing to clean up. Bounded per call (``Limits``) and per episode (cells, seconds).
Only cells that ran to their end are kept; what is random or time-dependent in them is drawn
again on each re-run (seed a generator for repeatable state).
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field

from rewardgym.judges.runtime.limits import Limits
from rewardgym.judges.runtime.sandbox import Sandbox, SandboxUnavailable
from rewardgym.judges.runtime.sandbox_slots import SandboxSlots, SlotBusy
from rewardgym.judges.tools.tool import Tool, ToolError, ToolUnavailable

__all__ = ["PythonSession", "python_tool"]

REPLAYED = "\x00rewardgym:replayed\x00"
DONE = "\x00rewardgym:done\x00"

# Earlier cells run again silenced at the file-descriptor level (os.write(1, ...) included);
# the markers on stderr say the re-run and the new cell both came to their end (a cell that
# calls os._exit would otherwise end every later call early, looking like success).
_PROGRAM = """\
import os, sys, traceback
cells = {cells!r}
ns = {{"__name__": "__main__"}}
if len(cells) > 1:
    sys.stdout.flush(); sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1); os.dup2(null, 2)
    for cell in cells[:-1]:
        try:
            exec(compile(cell, "<cell>", "exec"), ns)
        except BaseException:
            pass
    sys.stdout.flush(); sys.stderr.flush()
    os.dup2(saved[0], 1); os.dup2(saved[1], 2)
    for fd in (*saved, null):
        os.close(fd)
sys.stderr.write({replayed!r}); sys.stderr.flush()
try:
    exec(compile(cells[-1], "<cell>", "exec"), ns)
except BaseException as exc:
    sys.stdout.flush()
    print("".join(traceback.format_exception_only(type(exc), exc)).strip(), file=sys.stderr)
    sys.exit(1)
sys.stdout.flush()
sys.stderr.write({done!r})
"""

SLOTS = 16
"""Python tool runs at once, every episode together; each runs as a user no other sandboxed run
holds (``SandboxSlots``), so an episode's fork bomb spends only its own process limit."""
SLOT_WAIT_S = 30.0
"""How long a call waits for a free slot before it is a tool error (``python is busy``)."""


@functools.cache
def _slots() -> SandboxSlots:
    return SandboxSlots(SLOTS, "sandbox:python_tool")


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
        program = _PROGRAM.format(cells=[*self.cells, code], replayed=REPLAYED, done=DONE)
        try:
            ran = _slots().run_here(sandbox, program, limits=self.limits, wait_s=SLOT_WAIT_S)
        except SlotBusy:
            message = f"python is busy: all {SLOTS} slots stayed taken; try again"
            raise ToolUnavailable(message) from None
        self.seconds += ran.wall_s
        if ran.output_exceeded:
            raise ToolError(f"the code printed more than {self.limits.output_bytes} bytes")
        if ran.timed_out or ran.signal is not None or (ran.exit_code or 0) >= 128:
            raise ToolError(
                f"the code was stopped at its limits ({self.limits.wall_s:g} s, "
                f"{self.limits.cpu_s} s of CPU, {self.limits.memory_mb} MB)"
            )
        if REPLAYED not in ran.stderr:
            raise ToolError("an earlier cell ends the interpreter; this episode's python is spent")
        output = ran.stdout[-self.max_output :]
        if ran.exit_code != 0:  # the new cell raised: the model sees why; it is not kept
            error = ran.stderr.split(REPLAYED)[-1].strip().splitlines()[-1:]
            reason = error[0][:500] if error else f"exit code {ran.exit_code}"
            raise ToolError((output + "\n" if output else "") + reason)
        if DONE not in ran.stderr:  # it ended the interpreter itself: not kept
            raise ToolError("the code ended the interpreter (os._exit); it is not kept")
        self.cells.append(code)
        return output or "(no output)"


def python_tool(session: PythonSession) -> Tool:
    def python(code: str) -> str:
        """Run Python code; what it prints comes back. Variables persist between calls."""
        return session.run(code)

    return Tool.from_function(python)
