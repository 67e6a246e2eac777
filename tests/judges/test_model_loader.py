"""Models load from a directory or the local Hugging Face cache, never from the network."""

from __future__ import annotations

import os
import subprocess
import sys
from http.server import BaseHTTPRequestHandler

import pytest

from tests.conftest import local_http_server

CHECK = """
from rewardgym.errors import ConfigError
from rewardgym.judges.runtime.model_loader import load_pretrained
try:
    load_pretrained("causal_lm", "someone/not-in-the-cache")
except ConfigError as exc:
    print("config error:", exc)
"""


def test_a_hub_id_not_in_the_cache_is_a_config_error_without_a_request(tmp_path):
    pytest.importorskip("transformers", reason="the models extra is not installed")
    requests: list[str] = []

    class Hub(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(404)
            self.end_headers()

        do_HEAD = do_GET

    with local_http_server(Hub) as hub:
        env = {**os.environ, "HF_ENDPOINT": hub, "HF_HOME": str(tmp_path), "HF_HUB_OFFLINE": "0"}
        done = subprocess.run(
            [sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, timeout=120
        )
    assert "config error: cannot load the causal_lm model" in done.stdout, done.stderr[-2000:]
    # the "hub" was never asked for the model (huggingface_hub itself may call home on import)
    assert [path for path in requests if "not-in-the-cache" in path] == []
