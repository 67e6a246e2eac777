"""The program that runs a candidate against its tests in the sandbox (standard library only).

Two processes, so that the verdict never comes from the candidate. This process (the judge)
reads ``MARK`` then ``{"source", "setup", "tests", "prelude", "entry_point"}`` as JSON on
stdin, starts the candidate (fork, then exec of a fresh interpreter running this file with
``--candidate``: it holds nothing of the judge's memory, neither the marker nor the tests),
and runs the tests itself. The candidate process runs the source and serves calls to its
functions over a pipe; arguments and return values cross as plain data only (None, bool, int,
float, str, bytes, complex, and lists, tuples, sets, frozensets and dicts of them, by exact
type). A value that is anything else (an object whose ``__eq__`` always says yes, a subclass
of int) fails the call. In the judge, each function the candidate defines is a proxy that
makes such a call, so ``check(candidate)`` and ``assert f(1) == 2`` compare plain values with
the judge's own ``==``. The trusted prompt (``prelude``: HumanEval's helpers such as ``poly``)
runs in the judge; a candidate's function never replaces a builtin or a name the prompt or the
setup defined, except the entry point itself.

The candidate cannot reach the verdict: it holds neither the judge's stdout (its own output
goes to stderr) nor a way into the judge (the judge is not dumpable: no ptrace, no
``/proc/<pid>/fd``). Killing the judge, or hanging, ends in "did not finish", never a pass.
"""

from __future__ import annotations

import builtins
import contextlib
import ctypes
import json
import os
import resource
import signal
import sys
import types
from typing import Any

__all__ = ["decode", "encode", "main"]

PR_SET_DUMPABLE = 4
_SELF = os.path.abspath(__file__)
_CANDIDATE = "--candidate"
# Exceptions that would end a test's loop as if it were done (``all(map(f, xs))`` is True when
# ``f`` raises StopIteration): a candidate's becomes a RuntimeError in the judge.
_NOT_RAISED = frozenset({"StopIteration", "StopAsyncIteration"})
MAX_DEPTH = 64
MAX_ITEMS = 1_000_000


class NotPlainData(TypeError):
    """A value that cannot cross between the candidate and the judge."""


def encode(value: Any, depth: int = 0) -> Any:
    """``value`` as tagged JSON; only plain data of exact built-in types."""
    if depth > MAX_DEPTH:
        raise NotPlainData("a value nested too deeply")
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        return value if -(2**53) < value < 2**53 else {"i": str(value)}
    if kind is float:
        return {"f": repr(value)}
    if kind is complex:
        return {"c": [repr(value.real), repr(value.imag)]}
    if kind is bytes:
        return {"b": value.hex()}
    if kind in (list, tuple, set, frozenset):
        if len(value) > MAX_ITEMS:
            raise NotPlainData("a container too large")
        tags: dict[type, str] = {list: "l", tuple: "t", set: "s", frozenset: "z"}
        tag = tags[kind]
        return {tag: [encode(v, depth + 1) for v in value]}
    if kind is dict:
        return {"d": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    raise NotPlainData(f"a {kind.__name__} is not plain data")


def decode(data: Any) -> Any:
    """The value ``encode`` wrote."""
    if data is None or isinstance(data, bool | str | int):
        return data
    if isinstance(data, dict) and len(data) == 1:
        ((tag, inner),) = data.items()
        if tag == "i":
            return int(inner)
        if tag == "f":
            return float(inner)
        if tag == "c":
            return complex(float(inner[0]), float(inner[1]))
        if tag == "b":
            return bytes.fromhex(inner)
        if tag == "l":
            return [decode(v) for v in inner]
        if tag == "t":
            return tuple(decode(v) for v in inner)
        if tag == "s":
            return {decode(v) for v in inner}
        if tag == "z":
            return frozenset(decode(v) for v in inner)
        if tag == "d":
            return {decode(k): decode(v) for k, v in inner}
    raise NotPlainData(f"cannot read {str(data)[:80]}")


# --- the candidate's side ---------------------------------------------------------------------


def _serve(source: str, setup: str, requests: Any, replies: Any) -> None:
    """Run the source, say which functions it defines, then answer calls until EOF."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    try:
        exec(compile(setup + "\n" + source, "candidate.py", "exec"), namespace)
        names = sorted(k for k, v in namespace.items() if isinstance(v, types.FunctionType))
        _send(replies, {"ok": names, "values": _plain_globals(namespace)})
    except BaseException as exc:
        _send(replies, {"load": f"{type(exc).__name__}: {exc}"[:500]})
        return
    for line in requests:
        try:
            call = json.loads(line)
            result = namespace[call["f"]](*decode(call["a"]), **decode(call["k"]))
            reply: dict[str, Any] = {"r": encode(result)}
        except NotPlainData as exc:
            reply = {"e": ["TypeError", f"the function returned {exc}"]}
        except BaseException as exc:
            reply = {"e": [type(exc).__name__, str(exc)[:300]]}
        try:
            _send(replies, reply)
        except NotPlainData:
            _send(replies, {"e": ["TypeError", "an exception that is not plain data"]})


def _plain_globals(namespace: dict[str, Any], budget: int = 1_000_000) -> dict[str, Any]:
    """The candidate's global values that are plain data (copies for the tests: ``x == 1``)."""
    found: dict[str, Any] = {}
    for name, value in namespace.items():
        if name.startswith("__") or isinstance(value, types.FunctionType | types.ModuleType | type):
            continue
        try:
            encoded = encode(value)
        except NotPlainData:
            continue
        budget -= len(json.dumps(encoded))
        if budget < 0:
            break
        found[name] = encoded
    return found


def _send(stream: Any, message: Any) -> None:
    stream.write(json.dumps(message) + "\n")
    stream.flush()


# --- the judge's side -------------------------------------------------------------------------


class _Candidate:
    """The judge's handle on the candidate process: a fresh interpreter (fork, then exec), so
    it holds nothing of the judge's memory (the marker, the tests), and only the two pipes."""

    def __init__(self, source: str, setup: str) -> None:
        calls_in, calls_out = os.pipe()  # judge -> candidate
        replies_in, replies_out = os.pipe()  # candidate -> judge
        pid = os.fork()
        if pid == 0:  # the candidate: its output to stderr, no other fd of the judge's
            try:
                devnull = os.open(os.devnull, os.O_RDONLY)
                os.dup2(devnull, 0)
                os.dup2(2, 1)
                keep = {calls_in, replies_out}
                limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
                for fd in range(3, min(limit if limit > 0 else 1024, 4096)):
                    if fd not in keep:
                        with contextlib.suppress(OSError):
                            os.close(fd)
                for fd in keep:
                    os.set_inheritable(fd, True)
                argv = [sys.executable, "-I", _SELF, _CANDIDATE, str(calls_in), str(replies_out)]
                os.execv(sys.executable, argv)
            finally:
                os._exit(127)
        self.pid = pid
        os.close(calls_in)
        os.close(replies_out)
        self.requests = os.fdopen(calls_out, "w")
        self.replies = os.fdopen(replies_in, "r")
        with contextlib.suppress(BrokenPipeError):  # not started: _read says how it ended
            _send(self.requests, {"source": source, "setup": setup})
        first = self._read()
        self.load_error: str | None = first.get("load")
        self.names: list[str] = first.get("ok", [])
        self.values: dict[str, Any] = {k: decode(v) for k, v in first.get("values", {}).items()}

    def _read(self) -> Any:
        line = self.replies.readline()
        if not line:
            raise RuntimeError(self._how_it_ended())
        return json.loads(line)

    def _how_it_ended(self) -> str:
        try:
            _, status = os.waitpid(self.pid, 0)
        except ChildProcessError:
            return "the candidate process ended"
        if os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            name = signal.Signals(number).name
            why = {"SIGXCPU": ": CPU time limit", "SIGKILL": ": killed (a limit)"}.get(name, "")
            return f"the candidate was killed by signal {number} ({name}{why})"
        return f"the candidate exited (status {os.WEXITSTATUS(status)})"

    def call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        _send(self.requests, {"f": name, "a": encode(args), "k": encode(kwargs)})
        reply = self._read()
        if "r" in reply:
            return decode(reply["r"])
        kind, message = reply["e"]
        error = getattr(builtins, kind, None)
        if not (isinstance(error, type) and issubclass(error, Exception)) or kind in _NOT_RAISED:
            error = RuntimeError
        raise error(message)


def _proxy(candidate: _Candidate, name: str) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        return candidate.call(name, args, kwargs)

    call.__name__ = name
    return call


def _candidate_main(calls_fd: int, replies_fd: int) -> None:
    """The candidate's interpreter: its source arrives first, then calls."""
    requests = os.fdopen(calls_fd, "r")
    replies = os.fdopen(replies_fd, "w")
    first = json.loads(requests.readline() or "null")
    if not isinstance(first, dict):
        os._exit(0)
    sys.stdout = os.fdopen(1, "w", buffering=1)
    try:
        _serve(str(first["source"]), str(first["setup"]), requests, replies)
    finally:
        os._exit(0)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == _CANDIDATE:
        _candidate_main(int(sys.argv[2]), int(sys.argv[3]))
    mark = sys.stdin.readline().strip()
    job = json.loads(sys.stdin.read())
    verdicts = os.fdopen(os.dup(1), "w")  # only the judge holds the verdict channel
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)

    def report(index: int, passed: bool, detail: str) -> None:
        verdicts.write("\n" + mark + " " + json.dumps([index, passed, detail[:500]]) + "\n")
        verdicts.flush()

    candidate = _Candidate(job["source"], job["setup"])
    if candidate.load_error is not None:
        report(-1, False, candidate.load_error)
        return
    namespace: dict[str, Any] = {"__name__": "__main__"}
    with contextlib.suppress(BaseException):  # the trusted prompt's helpers (HumanEval's poly)
        exec(compile(job.get("prelude") or "", "prompt.py", "exec"), namespace)
    try:
        exec(compile(job["setup"], "setup.py", "exec"), namespace)
    except BaseException as exc:
        report(-1, False, f"the tests' setup failed: {type(exc).__name__}: {exc}")
        return
    # The candidate's functions and values, never over a name the tests already have (the
    # prompt's helpers, the setup's) nor over a builtin (a candidate's ``set`` or ``abs``).
    entry = job.get("entry_point")
    for name in candidate.names:
        if name == entry or (name not in namespace and not hasattr(builtins, name)):
            namespace[name] = _proxy(candidate, name)
    for name, value in candidate.values.items():
        if name != entry and name not in namespace and not hasattr(builtins, name):
            namespace[name] = value
    for index, test in enumerate(job["tests"]):
        try:
            exec(compile(test, f"test_{index}.py", "exec"), namespace)
            report(index, True, "")
        except BaseException as exc:
            report(index, False, f"{type(exc).__name__}: {exc}")


if __name__ == "__main__":
    main()
