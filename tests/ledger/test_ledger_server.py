"""The ledger through real servers: ``options.ledger`` returns each result's address, the
address finds the result over HTTP and gRPC, and replicas that share a PostgreSQL ledger
find each other's results."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from rewardgym.client import RewardClient
from rewardgym.client.grpc import GrpcRewardClient
from rewardgym.config import Settings
from rewardgym.errors import InvalidRequestError, NotFoundError
from rewardgym.schema import Item, ScoreOptions, ScoreRequest
from rewardgym.service import RewardService
from tests.conftest import Server, start_server, stop_server

ITEMS = [
    {"prompt": "1+1?", "response": "\\boxed{2}", "reference": "2"},
    {"prompt": "2+2?", "response": "\\boxed{5}", "reference": "4"},
    {"prompt": "?", "response": "no answer", "reference": "x", "metadata": {"data_source": "d"}},
]


def test_a_caller_gets_each_address_and_finds_the_result_there(server: Server):
    body = {"reward": "math", "items": ITEMS, "options": {"ledger": True}}
    results = httpx.post(f"{server.url}/v1/score", json=body, timeout=30).json()["results"]
    addresses = [r["address"] for r in results]
    assert len(set(addresses)) == 3 and all(len(a) == 64 for a in addresses)
    for sent, result, address in zip(ITEMS, results, addresses, strict=True):
        entry = httpx.get(f"{server.url}/v1/ledger/{address}", timeout=10).json()
        assert entry["address"] == address and entry["reward"] == "math"
        assert entry["item"]["response"] == sent["response"]
        assert entry["result"]["score"] == result["score"]
        assert entry["implementation"]["type"] == "math"
    again = httpx.post(f"{server.url}/v1/score", json=body, timeout=30).json()["results"]
    assert [r["address"] for r in again] == addresses  # same content, same address
    unasked = {"reward": "math", "items": ITEMS[:1]}
    plain = httpx.post(f"{server.url}/v1/score", json=unasked, timeout=30).json()["results"]
    assert plain[0]["address"] is None


def test_a_missing_or_malformed_address_is_a_clear_error(server: Server):
    missing = httpx.get(f"{server.url}/v1/ledger/{'0' * 64}", timeout=10)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert "retention" in missing.json()["error"]["message"]
    malformed = httpx.get(f"{server.url}/v1/ledger/not-an-address", timeout=10)
    assert malformed.status_code == 422
    with RewardClient(server.url) as client, pytest.raises(NotFoundError):
        client.lookup("f" * 64)


def test_grpc_callers_get_addresses_and_look_them_up(server: Server):
    with GrpcRewardClient(server.grpc_target) as client:
        results = client.score(
            "exact_match", [Item(response="Paris", reference="paris")], ledger=True
        )
        assert results[0].score == 1.0 and results[0].address is not None
        entry = client.lookup(results[0].address)
        assert entry.result.score == 1.0 and entry.item.response == "Paris"  # type: ignore[union-attr]
        with pytest.raises(NotFoundError):
            client.lookup("e" * 64)
        with pytest.raises(InvalidRequestError):
            client.lookup("../../etc/passwd")
    with RewardClient(server.url) as http:  # one ledger for both fronts
        assert http.lookup(results[0].address).result.score == 1.0


async def test_recording_everything_records_without_showing_addresses(tmp_path: Path):
    settings = Settings(cache_dir=tmp_path, ledger_record="all")
    async with RewardService.running(settings) as service:
        items = [Item.model_validate(i) for i in ITEMS]
        response = await service.score(ScoreRequest(reward="math", items=items))
        assert all(r.address is None for r in response.results)
        entries = await service.ledger.newest(10)
    assert sorted(e.item.response for e in entries) == sorted(i["response"] for i in ITEMS)  # type: ignore[union-attr]
    assert (tmp_path / "ledger.sqlite").exists()


@pytest.mark.slow
def test_replicas_sharing_a_postgres_ledger_find_each_others_results(postgres_url: str):
    env = {"REWARDGYM_CACHE_URL": postgres_url}
    first, second = start_server(env), start_server(env)
    try:
        with RewardClient(first.url) as one, RewardClient(second.url) as two:
            results = one.score("math", ITEMS, ledger=True)
            for result in results:
                assert result.address is not None
                assert two.lookup(result.address).result.score == result.score
    finally:
        stop_server(first)
        stop_server(second)


async def test_two_services_in_one_process_each_keep_their_own_ledger(tmp_path: Path):
    first = RewardService.from_settings(Settings(cache_dir=tmp_path / "a"))
    second = RewardService.from_settings(Settings(cache_dir=tmp_path / "b"))  # configured last
    try:
        item = [Item.model_validate(ITEMS[0])]
        asked = ScoreOptions(ledger=True)
        [mine] = (await first.score(ScoreRequest(reward="math", items=item, options=asked))).results
        assert (tmp_path / "a" / "ledger.sqlite").exists()
        assert not (tmp_path / "b" / "ledger.sqlite").exists()
        assert (await first.lookup(mine.address)).result.score == 1.0  # type: ignore[arg-type]
    finally:
        await first.aclose()
        await second.aclose()
