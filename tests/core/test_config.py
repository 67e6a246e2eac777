"""Settings, the YAML config, the registry and its plugin entry points."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from rewardgym.config import Settings, default_config_path, load_reward_config
from rewardgym.errors import ConfigError, UnknownRewardError
from rewardgym.judges import catalog as catalog_module
from rewardgym.registry import BUILTIN_TYPES, RewardRegistry, load_type, reward_types
from rewardgym.schema import RewardSpec


def test_settings_read_rewardgym_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("REWARDGYM_PORT", "9123")
    monkeypatch.setenv("REWARDGYM_MAX_ITEMS", "7")
    monkeypatch.setenv("REWARDGYM_GRPC_PORT", "none")
    settings = Settings()
    assert (settings.port, settings.max_items, settings.grpc_port) == (9123, 7, None)
    assert settings.max_body_bytes == 32 * 1024 * 1024


def test_default_config_builds_and_every_builtin_type_loads():
    config = load_reward_config(default_config_path())
    registry = RewardRegistry(config.rewards)
    assert {"math", "exact_match", "math_with_format"} <= set(registry.names())
    assert BUILTIN_TYPES
    for type_id in BUILTIN_TYPES:
        assert load_type(type_id).type_id == type_id


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rewards: [{type: math}]", "have no name"),
        ("rewards: [{name: a, type: math}, {name: a, type: math}]", "duplicate names"),
        ("rewards: [{name: a, type: math, paramz: {}}]", "invalid"),
        ("rewards: [{name: a", "not valid YAML"),
    ],
)
def test_bad_configs_say_what_is_wrong(tmp_path: Path, text: str, message: str):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_reward_config(path)


def test_bad_params_fail_at_start_up():
    with pytest.raises(ConfigError, match="invalid params for reward 'm'"):
        RewardRegistry([RewardSpec(name="m", type="math", params={"precision": 99})])


def test_unknown_type_lists_the_known_ones():
    with pytest.raises(UnknownRewardError) as info:
        RewardRegistry([RewardSpec(name="m", type="nope")])
    assert "math" in info.value.detail["known_types"]


def test_plugin_reward_types_come_from_entry_points(monkeypatch: pytest.MonkeyPatch):
    plugin = EntryPoint(
        name="my_exact", value="rewardgym.judges.rules.text:StringCheck", group="rewardgym.rewards"
    )
    monkeypatch.setattr(
        catalog_module,
        "entry_points",
        lambda group: [plugin] if group == "rewardgym.rewards" else [],
    )
    reward_types.cache_clear()
    load_type.cache_clear()
    try:
        assert reward_types()["my_exact"] == "rewardgym.judges.rules.text:StringCheck"
        reward = RewardRegistry([RewardSpec(name="x", type="my_exact")]).get("x")
        assert reward.name == "x"
    finally:
        reward_types.cache_clear()
        load_type.cache_clear()


def test_inline_specs_are_cached_and_bounded():
    registry = RewardRegistry([], max_inline=2)
    spec = RewardSpec(type="length", params={"max": 3})
    assert registry.resolve(spec) is registry.resolve(RewardSpec(type="length", params={"max": 3}))
    registry.resolve(RewardSpec(type="length", params={"max": 4}))
    registry.resolve(RewardSpec(type="length", params={"max": 5}))
    assert len(registry.all_rewards()) == 2
