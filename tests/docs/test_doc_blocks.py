"""Every code block of the README and the docs runs, as written, against real servers.

The blocks name the documented addresses: the reward server at ``localhost:8000``, an OpenEnv
server at ``:8001``, the judge at ``http://judge:8000/v1`` serving ``judge``, and the hub
model ``Qwen/Qwen2.5-0.5B-Instruct``. The fixtures here start the real things (a rewardgym
server whose config is the docs' own YAML blocks, the tiny vLLM judge, the tiny local models)
and point those names at them; nothing else in a block changes except what a ``replace``
directive says (``markdown_blocks`` lists the directives).

- ``python``: run as a script; a line ``print(...)  # TEXT`` must print exactly TEXT.
- ``bash``: run with ``set -euo pipefail``; ``curl`` fails on an HTTP error; printed
  ``results`` must carry no error (but those ``allow-error`` names); a line ``# expect: {...}``
  is JSON the output must contain (a subset: keys, list items in order); a last line
  ``# {...}`` is the JSON the block must print exactly.
- ``yaml``: parses; reward entries validate (type and params) as the server would read them.
- ``json``: parses (one document, or one per line).
- ``text``: output, trees and synopses: shown, not run.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from rewardgym.config import RewardConfig, default_config_path
from rewardgym.judges.backends.factory import BackendParams
from rewardgym.registry import load_type
from rewardgym.schema import RewardSpec
from tests.conftest import ROOT, Server, free_port, start_server, stop_server
from tests.docs.markdown_blocks import Block, blocks_of, doc_files

BLOCKS = [block for path in doc_files(ROOT) for block in blocks_of(path)]
RUN = ("python", "bash", "yaml", "json")
MODEL_TYPES = {"reward_model", "process_reward_model", "implicit_reward"}
HUB_JUDGE = "Qwen/Qwen2.5-0.5B-Instruct"
SERVER_NAMES = ("localhost:8000", "127.0.0.1:8000")
ENVS_NAME = ":8001"  # the OpenEnv server a page's background block starts


def _uses_server(block: Block) -> bool:
    return any(name in block.source for name in SERVER_NAMES) or block.background


def _param(block: Block) -> Any:
    """Python and bash blocks start processes (servers, models, training): the slow suite."""
    marks = [pytest.mark.slow] if block.language in ("python", "bash") else []
    return pytest.param(block, id=block.id, marks=marks)


def test_every_block_says_its_language() -> None:
    """A plain ``` block is ambiguous: each block is one of the kinds the collector runs, or
    ``text`` (shown only)."""
    unknown = [b.id for b in BLOCKS if b.language not in (*RUN, "text")]
    assert not unknown, f"blocks without a known language: {unknown}"
    assert len([b for b in BLOCKS if b.language in RUN]) >= 40


# --- YAML and JSON -----------------------------------------------------------------------


def _reward_entries(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, dict) and isinstance(data.get("rewards"), list):
        return list(data["rewards"])
    if isinstance(data, list) and all(isinstance(e, dict) and "type" in e for e in data):
        return data
    return []


def _validate_reward(entry: dict[str, Any]) -> None:
    spec = RewardSpec.model_validate(entry)
    load_type(spec.type).Params.model_validate(spec.params)


def _check_yaml(block: Block) -> None:
    data = yaml.safe_load(block.source)
    assert data is not None, "empty YAML block"
    if isinstance(data, dict) and ("rewards" in data or "backends" in data):
        RewardConfig.model_validate(data)
        for backend in data.get("backends", {}).values():
            BackendParams.model_validate(backend)
    for entry in _reward_entries(data):
        _validate_reward(entry)
    if isinstance(data, dict) and set(data) == {"backend"}:
        BackendParams.model_validate(data["backend"])


def _check_json(block: Block) -> None:
    try:
        json.loads(block.source)
    except json.JSONDecodeError:
        for line in block.source.splitlines():
            if line.strip():
                json.loads(line)


# --- the servers the blocks talk to ------------------------------------------------------


def _builtin_rewards() -> list[dict[str, Any]]:
    """The entries of the config a server serves when given none, as written."""
    return list(yaml.safe_load(default_config_path().read_text())["rewards"])


def _docs_definitions(**localised: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The backends and named rewards of every YAML block of the docs; a name defined twice
    must be defined alike, and a built-in reward's name means the built-in reward."""
    builtin = {entry["name"] for entry in _builtin_rewards()}
    backends: dict[str, Any] = {}
    rewards: dict[str, dict[str, Any]] = {}
    for block in BLOCKS:
        if block.language != "yaml" or block.skip:
            continue
        data = yaml.safe_load(_localise(block.source, **localised))
        if isinstance(data, dict):
            for name, backend in (data.get("backends") or {}).items():
                kept = backends.setdefault(name, backend)
                assert kept == backend, f"{block.id}: backend {name!r} differs from another page's"
        for entry in _reward_entries(data):
            if "name" not in entry:
                continue
            name = entry["name"]
            assert name not in builtin, f"{block.id}: {name!r} is a built-in reward's name"
            kept = rewards.setdefault(name, entry)
            assert kept == entry, f"{block.id}: another page defines {name!r} otherwise"
    return backends, rewards


def test_the_docs_define_each_reward_and_backend_once() -> None:
    backends, rewards = _docs_definitions()
    assert "judge" in backends and len(rewards) >= 8


def _docs_config(judge_url: str, hub_judge: str) -> dict[str, Any]:
    """The server config the docs describe: the built-in rewards plus every reward and
    backend of the docs' YAML blocks (but models at paths the docs made up), the judge pointed
    at the real vLLM server."""
    backends, rewards = _docs_definitions(judge_url=judge_url, hub_judge=hub_judge)
    served = [entry for entry in rewards.values() if entry["type"] not in MODEL_TYPES]
    return {"backends": backends, "rewards": [*served, *_builtin_rewards()]}


@pytest.fixture(scope="session")
def docs_server(
    vllm_url: str, tiny_judge_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A real rewardgym server with the docs' config and default settings (inline specs
    ``safe``, audits on), its judges the tiny vLLM model and the tiny local model."""
    config = tmp_path_factory.mktemp("docs-config") / "rewards.yaml"
    config.write_text(yaml.safe_dump(_docs_config(vllm_url, str(tiny_judge_dir))))
    env = {"REWARDGYM_CACHE_DIR": str(config.parent), "JUDGE_API_KEY": "docs-test-key"}
    server = start_server(env, config=config)  # the key the docs' backends read (vLLM: any)
    yield server
    stop_server(server)


@pytest.fixture(scope="session")
def docs_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where blocks run: the repository's ``tests`` and ``scripts`` (examples name files in
    them) and the data files the docs' commands read."""
    work = tmp_path_factory.mktemp("docs-work")
    for name in ("tests", "scripts"):
        (work / name).symlink_to(ROOT / name)
    rows = [
        {"prompt": "What is 6*7?", "response": "\\boxed{42}", "reference": "42"},
        {"prompt": "What is 6*7?", "response": "41", "reference": "42"},
    ]
    (work / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    pairs = [
        {"prompt": f"What is {a}+{a}?", "chosen": f"{2 * a}", "rejected": f"{2 * a + 1}"}
        for a in range(12)
    ]
    (work / "pairs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs))
    llmbar = [
        {"input": p["prompt"], "output_1": p["chosen"], "output_2": p["rejected"], "label": 1}
        for p in pairs[:4]
    ]
    (work / "other_pairs.json").write_text(json.dumps(llmbar))
    (work / "question.jsonl").write_text(
        json.dumps({"question_id": 81, "category": "math", "turns": ["What is 2+2?", "And 3+3?"]})
        + "\n"
    )
    (work / "reference_answer").mkdir()
    (work / "reference_answer" / "gpt-4.jsonl").write_text(
        json.dumps({"question_id": 81, "choices": [{"turns": ["4", "6"]}]}) + "\n"
    )
    return work


@pytest.fixture(scope="session")
def background() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Servers that ``background`` blocks start; stopped when the session ends."""
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


ENVS_PORT = free_port()
PAGE_SERVERS: dict[Path, str] = {}  # a page whose block ran `rewardgym serve`: its address


def _localise(source: str, *, server: str = "", judge_url: str = "", hub_judge: str = "") -> str:
    """The block with the documented addresses pointed at the fixtures' servers."""
    if server:
        for name in SERVER_NAMES:
            source = source.replace(name, server)
    if judge_url:
        source = re.sub(r"http://judge(-[ab])?:8000/v1", judge_url, source)
        source = re.sub(
            r"\bmodel: (judge|Qwen/Qwen2\.5-7B-Instruct)\b", "model: tiny-judge", source
        )
        source = source.replace('"model": "judge"', '"model": "tiny-judge"')
    if hub_judge:
        source = source.replace(HUB_JUDGE, hub_judge)
    source = source.replace(ENVS_NAME, f":{ENVS_PORT}")
    return source.replace("--port 8001", f"--port {ENVS_PORT}")


# --- running python and bash -------------------------------------------------------------

PRELUDES = {
    "policy": (
        "def my_policy(prompts):\n"
        "    return ['6 * 7 = \\\\boxed{42}' for _ in prompts]\n\n"
        "def my_model(messages):\n"
        "    return 'It depends: could you say more?'\n"
    ),
    "trl": (
        "import os\n"
        "from datasets import Dataset\n"
        "from transformers import AutoModelForCausalLM, AutoTokenizer\n"
        "model = AutoModelForCausalLM.from_pretrained(os.environ['DOCS_TOOL_MODEL'])\n"
        "tokenizer = AutoTokenizer.from_pretrained(os.environ['DOCS_TOOL_MODEL'])\n"
        "dataset = Dataset.from_list([{'prompt': 'What is 6*7?', 'answer': '42'}] * 8)\n"
    ),
}
EXPECT = re.compile(r"^(?P<indent>\s*)print\((?P<args>.*)\)\s+#\s(?P<expected>.+)$")
EXPECT_HELPER = (
    "def _docs_expect(expected, *args, sep=' '):\n"
    "    text = sep.join(str(a) for a in args)\n"
    "    print(text)\n"
    "    assert text == expected, f'printed {text!r}, the docs say {expected!r}'\n\n"
)


def _checked_prints(source: str) -> str:
    lines = []
    for line in source.splitlines():
        match = EXPECT.match(line)
        if match:
            line = f"{match['indent']}_docs_expect({match['expected']!r}, {match['args']})"
        lines.append(line)
    return EXPECT_HELPER + "\n".join(lines) + "\n"


def _python_source(block: Block, source: str) -> str:
    return "\n".join([*(PRELUDES[name] for name in block.setup), source])


def _env(extra: dict[str, str]) -> dict[str, str]:
    """This environment without the developer's own rewardgym settings, plus ``extra``."""
    mine = {k: v for k, v in os.environ.items() if not k.startswith("REWARDGYM_")}
    env = {**mine, **extra}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(ROOT)
    return env


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the background server exited with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise AssertionError(f"nothing listened on port {port} within {timeout} s")


@pytest.mark.parametrize("block", [_param(b) for b in BLOCKS if b.language in RUN])
def test_doc_block_runs(block: Block, request: pytest.FixtureRequest) -> None:
    if block.skip:
        pytest.skip(f"{block.id}: {block.skip}")
    if block.language == "yaml":
        return _check_yaml(block)
    if block.language == "json":
        return _check_json(block)
    source = block.source
    for old, new in block.replace:
        assert old in source, f"replace directive: {old!r} is not in the block"
        source = source.replace(old, new)
    env: dict[str, str] = {"REWARDGYM_CACHE_DIR": str(request.getfixturevalue("tmp_path"))}
    localised: dict[str, str] = {}
    serves = block.background and "rewardgym serve" in source
    uses = _uses_server(block) or "REWARDGYM_URL" in source
    if uses and _page_serves(block) and not serves and block.path not in PAGE_SERVERS:
        pytest.fail(f"{block.id}: the page's `rewardgym serve` block did not run first")
    if ENVS_NAME in source and not block.background and not request.getfixturevalue("background"):
        pytest.fail(f"{block.id}: the page's OpenEnv server block did not run first")
    if block.path in PAGE_SERVERS:
        localised["server"] = PAGE_SERVERS[block.path]
        env["REWARDGYM_URL"] = f"http://{PAGE_SERVERS[block.path]}"
    elif not serves and uses:
        server: Server = request.getfixturevalue("docs_server")
        localised["server"] = server.url.removeprefix("http://")
        env["REWARDGYM_URL"] = server.url
    if serves:  # the documented default ports, taken from the environment instead
        port = free_port()
        env.update(REWARDGYM_PORT=str(port), REWARDGYM_GRPC_PORT=str(free_port()))
    if "judge:8000" in source:
        localised["judge_url"] = request.getfixturevalue("vllm_url")
    if HUB_JUDGE in source:
        localised["hub_judge"] = str(request.getfixturevalue("tiny_judge_dir"))
    if "trl" in block.setup:
        env["DOCS_TOOL_MODEL"] = str(request.getfixturevalue("tool_model"))
    workdir: Path = request.getfixturevalue("docs_workdir")
    if "./my-small-model" in source and not (workdir / "my-small-model").exists():
        (workdir / "my-small-model").symlink_to(request.getfixturevalue("tool_model"))
    if block.language == "python":
        script = workdir / f"block_{block.path.stem}_{block.line}.py"
        script.write_text(_checked_prints(_localise(_python_source(block, source), **localised)))
        command = [sys.executable, str(script)]
    else:
        command = ["bash", "-euo", "pipefail", "-c", _bash_source(_localise(source, **localised))]
    if block.background:
        process = subprocess.Popen(command, cwd=workdir, env=_env(env))
        request.getfixturevalue("background").append(process)
        if not serves:
            return _wait_for_port(ENVS_PORT, process)
        _wait_for_port(port, process)
        PAGE_SERVERS[block.path] = f"127.0.0.1:{port}"
        return None
    done = subprocess.run(
        command, cwd=workdir, env=_env(env), capture_output=True, text=True, timeout=900
    )
    output = f"--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}"
    assert done.returncode == 0, f"{block.id} failed ({done.returncode}):\n{output}"
    if block.language == "bash":
        _check_output(block, source, done.stdout)


def _page_serves(block: Block) -> bool:
    """Whether the block's page starts a server of its own (its later blocks use that one)."""
    return any(
        b.path == block.path and b.background and "rewardgym serve" in b.source for b in BLOCKS
    )


CURL = 'curl() { command curl -sS --fail-with-body "$@"; }  # an HTTP error fails the block\n'


def _bash_source(source: str) -> str:
    return CURL + source


def _documents(stdout: str) -> list[Any]:
    """The JSON documents printed one after another (one answer, NDJSON, several calls);
    empty when the output is not JSON."""
    decoder, documents, at = json.JSONDecoder(), [], 0
    while at < len(stdout):
        if stdout[at].isspace():
            at += 1
            continue
        try:
            document, at = decoder.raw_decode(stdout, at)
        except json.JSONDecodeError:
            return []
        documents.append(document)
    return documents


def _errors(document: Any) -> list[dict[str, Any]]:
    """Every error a printed answer carries: an item's, a stream line's, the request's."""
    if not isinstance(document, dict):
        return []
    found = [document["error"]] if isinstance(document.get("error"), dict) else []
    for result in document.get("results") or []:
        if isinstance(result, dict) and isinstance(result.get("error"), dict):
            found.append(result["error"])
    if isinstance(document.get("result"), dict):
        found += _errors({"error": document["result"].get("error")})
    return found


def _check_output(block: Block, source: str, stdout: str) -> None:
    documents = _documents(stdout)
    printed = documents[0] if len(documents) == 1 else None
    seen = {error.get("type") for document in documents for error in _errors(document)}
    unexpected = seen - set(block.allowed_errors)
    assert not unexpected, f"{block.id}: printed results failed with {sorted(unexpected)}"
    missing = set(block.allowed_errors) - seen
    assert not missing, f"{block.id}: allow-error {sorted(missing)}, but none was printed"
    for line in source.splitlines():
        if line.startswith("# expect: "):
            assert printed is not None, f"{block.id} printed no JSON: {stdout[:500]!r}"
            _contains(printed, json.loads(line.removeprefix("# expect: ")), block.id)
    last = source.rstrip().splitlines()[-1]
    if last.startswith("# {"):
        assert printed == json.loads(last[2:]), f"printed {stdout!r}"


def _contains(actual: Any, expected: Any, where: str) -> None:
    """``expected`` is in ``actual``: its keys with equal values; lists of the same length,
    item by item."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: {actual!r} is not an object"
        for key, value in expected.items():
            assert key in actual, f"{where}: no {key!r} in {actual!r}"
            _contains(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), (
            f"{where}: {actual!r} is not a list of {len(expected)}"
        )
        for i, (got, want) in enumerate(zip(actual, expected, strict=True)):
            _contains(got, want, f"{where}[{i}]")
    elif isinstance(expected, float) and isinstance(actual, int | float):
        assert abs(actual - expected) < 1e-9, f"{where}: {actual!r} != {expected!r}"
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"
