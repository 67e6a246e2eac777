"""Where CPU-bound reward work runs: a pool of killable worker processes (``pool``) forked
from a warm template (``zygote``), the bubblewrap sandbox and seccomp filter the code reward
runs candidates in (``sandbox``, ``seccomp``), and loopback ports for local servers (``ports``).
"""

__all__: list[str] = []
