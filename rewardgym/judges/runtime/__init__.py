"""Where reward work runs: a pool of killable worker processes (``pool``) forked from a
warm template (``zygote``), the bubblewrap sandbox and seccomp filter the code reward runs
candidates in (``sandbox``, ``seccomp``), the one loader of transformers models every model
reward and the local judge backend share (``model_loader``), and loopback ports for local
servers (``ports``).
"""

__all__: list[str] = []
