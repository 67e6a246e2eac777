"""API keys and per-key rate limits on a real server (loopback)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from rewardgym.server.auth import ApiKeys, TokenBuckets, load_keys
from tests.conftest import start_server, stop_server

ITEM = {"reward": "exact_match", "items": [{"response": "a", "reference": "a"}]}


def test_keys_are_kept_as_digests_and_identified_by_id(tmp_path: Path):
    keys_file = tmp_path / "keys"
    keys_file.write_text("# team keys\nkey-from-file  # ci\n\n")
    keys = ApiKeys(load_keys("alpha, beta", keys_file))
    assert keys.identify("alpha") and keys.identify("key-from-file")
    assert keys.identify("alph") is None and keys.identify("") is None
    assert "alpha" not in repr(vars(keys))  # only digests are held


def test_token_bucket_refills_at_its_rate():
    buckets = TokenBuckets(rate=2.0, burst=2)
    assert buckets.take("k", now=0.0) == 0.0
    assert buckets.take("k", now=0.0) == 0.0
    assert buckets.take("k", now=0.0) == 0.5  # the next token in 1 / 2 s
    assert buckets.take("k", now=0.5) == 0.0
    assert buckets.take("other", now=0.5) == 0.0  # each key has its own bucket


@pytest.mark.slow
def test_server_requires_a_bearer_key_and_limits_its_rate():
    server = start_server(
        {
            "REWARDGYM_API_KEYS": "s3cret-key",
            "REWARDGYM_RATE_LIMIT": "0.5",
            "REWARDGYM_RATE_BURST": "2",
        }
    )
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            missing = client.post("/v1/score", json=ITEM)
            assert missing.status_code == 401
            assert missing.headers["www-authenticate"] == "Bearer"
            assert "Authorization: Bearer" in missing.json()["error"]["message"]
            wrong = client.post("/v1/score", json=ITEM, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            assert client.get("/healthz").status_code == 200  # health stays open
            auth = {"Authorization": "Bearer s3cret-key"}
            first = client.post("/v1/score", json=ITEM, headers=auth)
            assert first.status_code == 200 and first.json()["results"][0]["score"] == 1.0
            assert client.post("/v1/score", json=ITEM, headers=auth).status_code == 200
            limited = client.post("/v1/score", json=ITEM, headers=auth)
            assert limited.status_code == 429
            assert int(limited.headers["retry-after"]) >= 1
            assert "s3cret-key" not in limited.text
    finally:
        stop_server(server)
