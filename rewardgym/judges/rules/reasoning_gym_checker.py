"""The program that runs reasoning-gym's checkers inside the sandbox (standard library only).

Some checkers evaluate the answer as code (``countdown`` parses it with sympy's ``parse_expr``,
``bitwise_arithmetic`` calls ``eval`` on the task), so they never run in the server: this file
is the program the reward runs in bubblewrap. It reads ``{"site": [...], "timeout_s": T,
"tasks": [{"dataset", "entry", "answer"}, ...]}`` on stdin, imports reasoning-gym once, then
checks each task in a forked child that cannot reach the output (its stdout is closed) or the
parent (not dumpable, so no ptrace): one task's code cannot write another task's score. It
prints one JSON list, ``{"score": x}`` or ``{"error": "..."}`` per task, in order.
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import signal
import sys
import time
from typing import Any

__all__ = ["main"]

PR_SET_DUMPABLE = 4


def _check_in_child(check: Any, task: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no way back to the output but its own pipe
        os.close(read_end)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        try:
            out: dict[str, Any] = {
                "score": float(check(answer=task["answer"], entry=task["entry"]))
            }
        except BaseException as exc:  # a checker that chokes on odd input
            out = {"error": f"the {task['dataset']} checker raised {type(exc).__name__}: {exc}"}
        os.write(write_end, json.dumps(out)[:4000].encode())
        os._exit(0)
    os.close(write_end)
    data = b""
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        ready, _, _ = select.select([read_end], [], [], max(left, 0))
        if not ready:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(read_end)
            late = f"the {task['dataset']} checker ran over {timeout_s:g} s"
            return {"error": late, "type": "timeout"}
        chunk = os.read(read_end, 4096)
        if not chunk or len(data) > 8000:
            break
        data += chunk
    os.close(read_end)
    os.waitpid(pid, 0)
    try:
        out = json.loads(data)
        return {"score": float(out["score"])} if "score" in out else {"error": str(out["error"])}
    except (ValueError, KeyError, TypeError):
        return {"error": f"the {task['dataset']} checker ended without a score"}


def main() -> None:
    request = json.loads(sys.stdin.read())
    sys.path[:0] = request["site"]
    libc = ctypes.CDLL(None)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    import reasoning_gym

    results = []
    for task in request["tasks"]:
        try:
            check = reasoning_gym.get_score_answer_fn(task["dataset"])
        except Exception:
            unknown = f"unknown reasoning-gym dataset {task['dataset']!r}"
            results.append({"error": unknown, "type": "invalid_input"})
            continue
        results.append(_check_in_child(check, task, float(request["timeout_s"])))
    sys.stdout.write(json.dumps(results))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
