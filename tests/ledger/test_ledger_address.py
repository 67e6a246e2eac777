"""Content addresses: the same item scored by the same implementation has one address; any
change to what the reward reads, or to the reward, gives another."""

from __future__ import annotations

from rewardgym.ledger import address, implementation_digest
from rewardgym.registry import RewardRegistry
from rewardgym.schema import Item, RewardSpec


def _address(spec: dict, item: Item) -> str:
    reward = RewardRegistry([RewardSpec.model_validate(spec)]).get(spec["name"])
    return address(implementation_digest(reward.implementation()), item)


MATH = {"name": "m", "type": "math"}
ITEM = Item(prompt="1+1?", response="\\boxed{2}", reference="2", metadata={"data_source": "a"})


def test_the_same_item_and_reward_have_one_address_whatever_the_label():
    relabelled = ITEM.model_copy(update={"metadata": {"data_source": "b"}})
    renamed = {**MATH, "name": "other"}
    assert _address(MATH, ITEM) == _address(MATH, relabelled) == _address(renamed, ITEM)
    assert len(_address(MATH, ITEM)) == 64


def test_what_the_reward_reads_and_how_it_scores_change_the_address():
    base = _address(MATH, ITEM)
    assert _address(MATH, ITEM.model_copy(update={"response": "2"})) != base
    assert _address(MATH, ITEM.model_copy(update={"reference": "3"})) != base
    assert _address(MATH, ITEM.model_copy(update={"metadata": {"tests": [1]}})) != base
    assert _address({**MATH, "params": {"strict": False}}, ITEM) != base
    # the pool size does not change a result: not part of the address
    assert _address({**MATH, "params": {"workers": 3}}, ITEM) == base


def _judge(model: str, url: str = "http://127.0.0.1:9/v1", **params: object) -> dict:
    backend = {"base_url": url, "model": model, "cache": False}
    return {"name": "j", "type": "pointwise", "params": {"backend": backend, **params}}


def test_a_judge_address_holds_its_model_servers_templates_and_sampling():
    base = _address(_judge("m1"), ITEM)
    assert _address(_judge("m1"), ITEM) == base
    assert _address(_judge("m2"), ITEM) != base
    assert _address(_judge("m1", "http://127.0.0.1:10/v1"), ITEM) != base
    assert _address(_judge("m1", temperature=0.7), ITEM) != base
    assert _address(_judge("m1", user_template="{{ response }} {{ tag }}"), ITEM) != base
