"""Property-based fuzzing (Hypothesis) of a real server over HTTP, with API keys on.

Hypothesis builds hostile requests: inline reward specs of every built-in type with plausible
and random params (regexes, JSON Schemas, formulas, composites nested a little or hundreds
deep), items of arbitrary Unicode (control characters and NUL included), references and
metadata of every JSON shape (huge numbers, NaN, values nested hundreds deep), odd options, and
raw bodies (lone surrogates, arrays nested 10,000 deep, invalid JSON). Three in four requests
are schema-valid, so they reach the rewards; the rest probe validation.

Whatever it sends, the server must answer within the client's timeout (else: a hang), never
with a 5xx (the one documented 5xx an item can cause is allowed: 504 for an item that timed out
under ``on_error: raise``), and a 200 must hold one result per item, each with a finite score
or an error. Derandomized, with no example database: every run sends the same requests.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rewardgym.registry import BUILTIN_TYPES
from tests.conftest import TEST_CONFIG, Server, start_server, stop_server

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:Generating overly large repr"),  # 200 kB bodies
]

KEY = "fuzz-inline-key-5d1c0a"
# One connection per request: after a 500, uvicorn drops the connection it answered on, and
# that must not be mistaken for a failure of the next request.
HEADERS = {
    "Authorization": f"Bearer {KEY}",
    "Content-Type": "application/json",
    "Connection": "close",
}
CLIENT_TIMEOUT_S = 30.0
NAMED = [  # the rewards tests/data/test_config.yaml names
    "math",
    "exact_match",
    "think_answer_format",
    "length_under_8",
    "math_with_format",
    "strict_math",
    "math_or_minus_one",
]
COMPOSITES = ("weighted", "vector", "gate", "formula")
TYPES = sorted(BUILTIN_TYPES)
LEAF_TYPES = [t for t in TYPES if t not in COMPOSITES]

FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)


# ---------------------------------------------------------------------------------------------
# The server, and the check every request goes through.


@dataclass
class Target:
    server: Server
    client: httpx.Client
    log: Path

    def log_size(self) -> int:
        return self.log.stat().st_size

    def log_since(self, offset: int) -> str:
        time.sleep(0.2)  # uvicorn logs an unhandled error just after it answers
        text = self.log.read_bytes()[offset:].decode("utf-8", "replace")
        return text[-8000:] or "(nothing)"


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    log = tmp_path_factory.mktemp("fuzz-server") / "stderr.log"
    with log.open("wb") as stderr:
        server = start_server(
            {"REWARDGYM_API_KEYS": KEY, "REWARDGYM_REQUEST_DEADLINE_S": "10"},
            TEST_CONFIG,
            stderr=stderr,
        )
        try:
            with httpx.Client(base_url=server.url, timeout=CLIENT_TIMEOUT_S) as client:
                yield Target(server, client, log)
        finally:
            stop_server(server)


class Raw:
    """JSON text put in a body verbatim: what ``json.dumps`` cannot or will not write (arrays
    nested thousands deep, 5,000-digit numbers, ``1e999``)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"Raw({self.text[:40]!r}{'...' if len(self.text) > 40 else ''})"


def encode(body: Any) -> bytes:
    """The body as JSON bytes, ``Raw`` parts spliced in. NaN and Infinity (not JSON, but
    Python's parser, which the server uses, reads them) are written as such."""
    raws: list[str] = []

    def default(value: Any) -> Any:
        if isinstance(value, Raw):
            raws.append(value.text)
            return f"@@fuzz-raw-{len(raws) - 1}@@"
        raise TypeError(type(value).__name__)

    text = json.dumps(body, default=default, ensure_ascii=False)
    for i, raw in enumerate(raws):
        text = text.replace(f'"@@fuzz-raw-{i}@@"', raw, 1)
    return text.encode("utf-8", "surrogatepass")


def shown(content: bytes) -> str:
    """A request body for a failure message: whole when short, else with long strings and
    deep nesting abbreviated (so that the shape of a large request stays readable)."""
    text = content.decode("utf-8", "replace")
    if len(text) <= 4000:
        return text
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return f"{text[:3000]} ... [{len(text)} characters] ... {text[-600:]}"
    return json.dumps(_abbreviated(value, 0), ensure_ascii=False)[:6000]


def _abbreviated(value: Any, level: int) -> Any:
    if isinstance(value, str) and len(value) > 120:
        return f"{value[:60]}...[{len(value)} characters, {value[:8]!r} first]"
    if isinstance(value, list | dict) and level >= 12:
        depth, probe = 0, value
        while isinstance(probe, list | dict) and probe:
            probe = probe[0] if isinstance(probe, list) else next(iter(probe.values()))
            depth += 1
        return f"<{type(value).__name__} nesting {depth} more levels>"
    if isinstance(value, list):
        return [_abbreviated(v, level + 1) for v in value]
    if isinstance(value, dict):
        return {k: _abbreviated(v, level + 1) for k, v in value.items()}
    return value


def post(
    target: Target, path: str, content: bytes, headers: dict[str, str] | None = None
) -> httpx.Response | None:
    """POST; fail on a hang, a dropped connection, a 5xx (save a 504 for an item that timed
    out under on_error: raise) or a non-JSON error. Returns the response when it is a 200."""
    offset = target.log_size()
    request = f"POST {path} ({len(content)} bytes):\n{shown(content)}"
    started = time.monotonic()
    try:
        response = target.client.post(path, content=content, headers=headers or HEADERS)
    except httpx.TimeoutException:
        pytest.fail(
            f"no answer within {CLIENT_TIMEOUT_S:.0f} s (a hang) to {request}\n"
            f"server stderr:\n{target.log_since(offset)}"
        )
    except httpx.TransportError as exc:
        alive = target.server.process.poll() is None
        pytest.fail(
            f"the connection failed ({type(exc).__name__}: {exc}; server alive: {alive}) on "
            f"{request}\nserver stderr:\n{target.log_since(offset)}"
        )
    elapsed = time.monotonic() - started
    status = response.status_code

    def detail() -> str:
        return (
            f"{status} after {elapsed:.2f} s to {request}\nanswer: {response.text[:2000]}\n"
            f"server stderr:\n{target.log_since(offset)}"
        )

    if status >= 500 and not (status == 504 and _timed_out_item(response)):
        pytest.fail(f"server error: {detail()}")
    assert elapsed < CLIENT_TIMEOUT_S, f"too slow: {detail()}"
    if status == 200:
        return response
    try:
        error = response.json().get("error")
    except ValueError:
        error = None
    assert isinstance(error, dict), f"an error without a JSON error body: {detail()}"
    return None


def _timed_out_item(response: httpx.Response) -> bool:
    try:
        error = response.json()["error"]
        return error["code"] == "item_failed" and error["item_error"]["type"] == "timeout"
    except (ValueError, KeyError, TypeError):
        return False


def check_results(response: httpx.Response, n_items: int, *, scores: bool = True) -> None:
    """A 200 from /v1/score (or /v1/compare): one result per item; a null score says why."""
    context = f"answer: {response.text[:3000]}"
    results = response.json()["results"]
    assert len(results) == n_items, f"{len(results)} results for {n_items} items; {context}"
    for result in results:
        if scores and result["score"] is None:
            assert result["error"] is not None, f"a null score without an error; {context}"
        if result["score"] is not None:
            assert math.isfinite(result["score"]), context


# ---------------------------------------------------------------------------------------------
# Values.


def deep_list(depth: int, leaf: str = "0") -> Raw:
    return Raw("[" * depth + leaf + "]" * depth)


def deep_object(depth: int) -> Raw:
    return Raw('{"a":' * depth + "0" + "}" * depth)


# Values nested deeper than Python's JSON parser goes (about 1,000) make a whole body a 400:
# the raw-body test sends those; these stay under it.
DEPTHS = st.sampled_from([100, 254, 255, 300, 600, 950])
DEEP = st.one_of(DEPTHS.map(deep_list), DEPTHS.map(deep_object))
NUMBERS = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**4000), max_value=10**4000),  # under Python's 4,300 digits
    st.floats(),  # NaN and the infinities included
    st.sampled_from([0, -1, 1e308, -1e308, 5e-324, 2**63, -(2**63) - 1]),
    st.sampled_from(["1e999", "-1e999", "9" * 5000, "-0", "1E400"]).map(Raw),
)
JSON_LEAVES = st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=30))
JSON = st.recursive(
    JSON_LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
REGEXISH = st.text(alphabet="a()|*+?{}[]^$\\.0123456789", max_size=40)
KNOWN_PATTERNS = st.sampled_from(
    [
        r"(a+)+$",
        r"(a|aa)*b",
        r"(?i)paris",
        r"(?P<x>a)(?P=x)",
        r"(a)\1",
        r"(?=a)a",
        r"(?<!b)a",
        r"a{1000}{1000}",
        r"a{100000}",
        r"((((((((((a*)*)*)*)*)*)*)*)*)*)*",
        r"\p{L}+",
        r"(?s).*",
        r"[",
        "\\",
        "x" * 2100,
        "(" * 500 + ")" * 500,
    ]
)
PATTERNS = st.one_of(REGEXISH, KNOWN_PATTERNS, st.text(max_size=20))
BIG_TEXT = st.builds(  # past the in-process budget of rules: 200,000 characters; 4,000 for
    lambda unit, times: unit * times,  # text similarity; 1,000 for a JSON Schema
    st.text(min_size=1, max_size=6),
    st.sampled_from([700, 1_200, 5_000, 40_000, 210_000]),
)
HOSTILE_TEXTS = st.sampled_from(
    [
        "\\boxed{" + "(" * 5_000,
        "\\boxed{10^{10^{10^{10^{10}}}}}",
        "\\frac{1}{0}",
        "$" + "\\sqrt{" * 500 + "2" + "}" * 500 + "$",
        "9" * 5_000,
        "<think>" * 1_000 + "</answer>",
        "```json\n" + "[" * 5_000 + "\n```",
        '{"a": ' * 3_000 + "1" + "}" * 3_000,
        "while True:\n    pass\n",
        "print(open('/etc/passwd').read())\n",
        "import time\ntime.sleep(60)\n",
        "print('x' * 10**8)\n",
        "def f():\n    return 1\n",
        "<answer>1</answer>",
        "Answer: 2",
        "\x00" * 100,
        "\u202e\ufeff\u200b" * 50,
    ]
)
TEXTS = st.one_of(st.text(), st.text(), BIG_TEXT, HOSTILE_TEXTS)
VALID_MESSAGES = st.lists(
    st.fixed_dictionaries(
        {
            "role": st.sampled_from(["user", "assistant", "system"])
            | st.text(min_size=1, max_size=64),
            "content": TEXTS,
        }
    ),
    max_size=3,
)
WILD_MESSAGES = st.lists(
    st.fixed_dictionaries(
        {"role": st.text(max_size=70) | JSON},
        optional={"content": st.text() | JSON, "name": st.text(max_size=5)},
    ),
    max_size=3,
)
CODE_TESTS = st.one_of(
    st.fixed_dictionaries(
        {
            "cases": st.lists(
                st.fixed_dictionaries(
                    {"output": st.text(max_size=10)}, optional={"input": st.text(max_size=10)}
                )
                | JSON,
                max_size=3,
            )
        }
    ),
    st.fixed_dictionaries({"tests": st.lists(st.text(max_size=30), max_size=3)}),
    st.fixed_dictionaries({"test": st.text(max_size=30), "entry_point": st.text(max_size=10)}),
    st.just({"tests": ["assert f() == 1"], "setup": "x = 1"}),
    st.just({"cases": [{"input": "", "output": "1"}]}),
    st.just({"test": "def check(f):\n    assert f() == 1\n", "entry_point": "f"}),
)
REFERENCES = st.one_of(
    st.none(),
    st.text(),
    REGEXISH,
    NUMBERS,
    JSON,
    st.lists(st.text(max_size=20), max_size=4),
    DEEP,
    CODE_TESTS,
    st.sampled_from(["2", "\\frac{1}{2}", "x^2+1", "\\boxed{4}", "", "nan", "1/0", "paris"]),
)
RG_TASKS = st.fixed_dictionaries(
    {
        "dataset": st.sampled_from(["basic_arithmetic", "leg_counting", "nonexistent", ""])
        | st.text(max_size=8),
        "entry": st.dictionaries(st.sampled_from(["answer", "metadata", "question"]), JSON)
        | st.just({"answer": "1", "metadata": {}}),
    }
)
METADATA = st.one_of(
    st.dictionaries(st.text(max_size=10), JSON, max_size=3),
    st.fixed_dictionaries({"reasoning_gym": RG_TASKS | JSON}),
    st.fixed_dictionaries({"tests": CODE_TESTS}),
    st.fixed_dictionaries({"nested": DEEP}),
    st.fixed_dictionaries({"documents": st.lists(st.text() | JSON, max_size=4) | JSON}),
)


@cache
def items(strict: bool) -> st.SearchStrategy[list[dict[str, Any]]]:
    """1-4 items: schema-valid ones (hostile only in content), or anything at all."""
    if strict:
        item = st.fixed_dictionaries(
            {"response": TEXTS | VALID_MESSAGES},
            optional={
                "prompt": st.text() | VALID_MESSAGES,
                "reference": REFERENCES,
                "steps": st.lists(st.text(max_size=40), max_size=5) | st.none(),
                "metadata": METADATA,
            },
        )
    else:
        item = st.fixed_dictionaries(
            {"response": TEXTS | WILD_MESSAGES | JSON},
            optional={
                "prompt": st.text() | WILD_MESSAGES | JSON,
                "reference": REFERENCES,
                "steps": JSON,
                "metadata": METADATA | JSON,
                "extra": JSON,
            },
        )
    return st.lists(item, min_size=1, max_size=4)


VALID_ON_ERROR = st.sampled_from(["null", "raise"]) | st.floats(
    allow_nan=False, allow_infinity=False
)
VALID_DEADLINE = st.sampled_from([1e-9, 0.001, 0.05, 0.5, 3.0, 3600.0]) | st.floats(
    min_value=1e-6, max_value=3600
)
WILD_ON_ERROR = st.one_of(
    st.sampled_from(["Infinity", "NULL", "", True, None, [], {}]), st.floats(), JSON_LEAVES
)
WILD_DEADLINE = st.one_of(st.sampled_from([0, -1, 1e9, 3600.5, "10", True]), st.floats(), JSON)


@cache
def options(strict: bool) -> st.SearchStrategy[dict[str, Any]]:
    if strict:
        return st.fixed_dictionaries(
            {}, optional={"on_error": VALID_ON_ERROR, "deadline_s": VALID_DEADLINE | st.none()}
        )
    return st.fixed_dictionaries(
        {}, optional={"on_error": WILD_ON_ERROR, "deadline_s": WILD_DEADLINE, "priority": JSON}
    )


# ---------------------------------------------------------------------------------------------
# Params: for each type, keys with values its Params model accepts (content still hostile:
# patterns, schemas, references), and separately the ones only an operator may set (403).

FLAGS = st.booleans()
UNIT_FLOATS = st.floats(min_value=0, max_value=1)
ANY_FLOATS = st.floats()  # RewardSpec.weight, thresholds: pydantic takes NaN and infinities
BIG_NATURALS = st.integers(min_value=0) | st.sampled_from([10**18, 2**63, 10**300])

SCHEMA_LEAF = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["string", "number", "integer", "object", "array", "null"])
        | st.lists(st.sampled_from(["string", "boolean"]), min_size=1, max_size=2, unique=True),
        "pattern": PATTERNS,
        "minLength": st.integers(min_value=0),
        "maxItems": st.integers(min_value=0),
        "maximum": st.integers() | st.floats(allow_nan=False, allow_infinity=False),
        "multipleOf": st.sampled_from([1e-300, 0.1, 3, 1e308]),
        "enum": st.lists(JSON, min_size=1, max_size=3),
        "uniqueItems": FLAGS,
        "format": st.sampled_from(["email", "date-time", "regex", "uri"]),
        "$ref": st.sampled_from(
            ["#", "#/definitions/x", "http://127.0.0.1:9/s.json", "file:///etc/passwd", "urn:x"]
        ),
        "$schema": st.sampled_from(
            [
                "http://json-schema.org/draft-07/schema#",
                "https://json-schema.org/draft/2020-12/schema",
                "http://127.0.0.1:9/meta",
            ]
        ),
    },
)
JSON_SCHEMAS = st.recursive(
    SCHEMA_LEAF,
    lambda inner: st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(["object", "array"]),
            "properties": st.dictionaries(st.text(max_size=6), inner, max_size=3),
            "items": inner,
            "patternProperties": st.dictionaries(PATTERNS, inner, max_size=2),
            "anyOf": st.lists(inner, min_size=1, max_size=3),
            "not": inner,
            "additionalProperties": inner | FLAGS,
            "definitions": st.dictionaries(st.sampled_from(["x", "y"]), inner, max_size=2),
            "required": st.lists(st.text(max_size=4), max_size=3, unique=True),
        },
    ),
    max_leaves=8,
)
JUDGE = {
    "backend": st.sampled_from(["judge", "default", "openai", ""]),
    "use_reference": FLAGS,
    "max_tokens": st.integers(1, 512),
    "temperature": st.floats(0, 2),
    "criteria": st.text(max_size=40),
}
JUDGE_OPERATOR = {
    "backend": st.just({"base_url": "http://127.0.0.1:9/v1", "model": "x"}),
    "system_template": st.sampled_from(["{{ 7 * 7 }}", "{{ ''.__class__.__mro__ }}"]),
    "user_template": st.sampled_from(["{% for x in range(10**9) %}{% endfor %}"]),
    "max_tokens": st.integers(513, 8192),
}
MODEL_PATHS = st.sampled_from(["/etc/passwd", "gpt2", "../../..", "http://127.0.0.1:9/m"])
REFERENCE_PARAM = st.one_of(st.text(), st.lists(st.text(max_size=30), max_size=3), st.none())

PARAMS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "string_check": {
        "operation": st.sampled_from(["eq", "ne", "contains", "icontains", "regex"]),
        "reference": st.one_of(st.text(), PATTERNS, st.lists(PATTERNS, max_size=3)),
        "extract": PATTERNS,
        **{
            flag: FLAGS
            for flag in ("lowercase", "strip", "collapse_whitespace", "remove_punctuation")
        },
        "unicode_nfkc": FLAGS,
    },
    "format": {
        "pattern": PATTERNS,
        "tags": st.lists(st.text(max_size=8), max_size=4),
        "ordered": FLAGS,
        "partial_credit": FLAGS,
    },
    "json": {
        "schema": JSON_SCHEMAS,
        "partial_credit": FLAGS,
        "extract_code_block": FLAGS,
        "parse_score": UNIT_FLOATS,
    },
    "length": {
        "unit": st.sampled_from(["chars", "words", "lines"]),
        "min": BIG_NATURALS,
        "max": BIG_NATURALS | st.none(),
        "overlong_buffer": BIG_NATURALS,
        "penalty": FLAGS,
    },
    "repetition": {
        "n": st.integers(1, 20),
        "unit": st.sampled_from(["words", "chars"]),
        "penalty": FLAGS,
        "min_ngrams": BIG_NATURALS.filter(bool),
    },
    "text_similarity": {
        "metric": st.sampled_from(
            [
                *("fuzzy_ratio", "fuzzy_partial", "fuzzy_token_set", "bleu", "chrf"),
                *("rouge1", "rouge2", "rougeL"),
            ]
        ),
        "lowercase": FLAGS,
        "reference": REFERENCE_PARAM,
        "threshold": UNIT_FLOATS,
    },
    "math": {
        "extraction": st.lists(st.sampled_from(["latex", "expr", "string"]), min_size=1),
        "boxed_priority": st.integers() | st.sampled_from([2**63, -(10**100)]),
        "precision": st.integers(0, 15),
        "strict": FLAGS,
        "allow_set_relation_comp": FLAGS,
        "wrap_gold": FLAGS,
        "literal": FLAGS,
        "timeout_s": st.floats(min_value=1e-6, max_value=5),
    },
    "code": {
        "all_or_nothing": FLAGS,
        "timeout_s": st.floats(min_value=1e-3, max_value=5),
        "cpu_s": st.integers(1, 5),
        "memory_mb": st.integers(64, 512),
        "processes": st.integers(1, 32),
        "file_size_mb": st.integers(1, 16),
        "output_bytes": st.integers(1024, 65536),
        "excerpt_chars": st.integers(0, 2000),
    },
    "reasoning_gym": {
        "extract": st.sampled_from(["auto", "answer_tag", "boxed", "answer_line", "last_line"]),
        "timeout_s": st.floats(min_value=1e-3, max_value=5),
    },
    "embedding_similarity": {
        "reference": REFERENCE_PARAM,
        "aggregate": st.sampled_from(["max", "mean"]),
        "rescale": FLAGS,
    },
    "reward_model": {"label": st.integers(0, 3)},
    "process_reward_model": {"step_tag": st.text(min_size=1, max_size=5)},
    "implicit_reward": {"beta": st.floats(min_value=1e-6), "granularity": st.just("token")},
    "pointwise": {**JUDGE, "rubric": st.sampled_from(["additive5", "helpfulness10"])},
    "pairwise": {**JUDGE, "swap": FLAGS, "allow_tie": FLAGS},
    "verifier": JUDGE,
    "agent": {
        **JUDGE,
        "tools": st.lists(
            st.sampled_from(["python", "calculator", "search"]), min_size=1, max_size=3
        ),
        "max_turns": st.integers(1, 3),
        "max_tool_calls": st.integers(1, 4),
        "criteria": st.text(max_size=40),
    },
    "listwise": {**JUDGE, "permutations": st.integers(1, 8), "shuffle_seed": st.integers()},
    "step": {
        **JUDGE,
        "split": st.sampled_from(["auto", "regex", "lines"]),
        "step_pattern": PATTERNS,
    },
}
REQUIRED: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "reward_model": {"model": MODEL_PATHS},
    "process_reward_model": {"model": MODEL_PATHS},
    "implicit_reward": {"policy": MODEL_PATHS, "reference": MODEL_PATHS},
    **{judge: {"backend": JUDGE["backend"]} for judge in ("pointwise", "pairwise", "verifier")},
    **{judge: {"backend": JUDGE["backend"]} for judge in ("listwise", "step", "agent")},
}
OPERATOR: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "math": {"workers": st.integers(1, 64), "timeout_s": st.floats(5.001, 600)},
    "code": {
        "sandbox": st.just("none"),
        "workers": st.integers(1, 256),
        "memory_mb": st.integers(513, 65536),
        "timeout_s": st.floats(5.001, 600),
    },
    "reasoning_gym": {"sandbox": st.just("none"), "timeout_s": st.floats(5.001, 60)},
    "embedding_similarity": {
        "model": MODEL_PATHS,
        "device": st.sampled_from(["cuda:7", "meta"]),
        "batch_size": st.integers(1, 4096),
    },
    **{judge: JUDGE_OPERATOR for judge in ("pointwise", "pairwise", "verifier", "listwise")},
    "step": JUDGE_OPERATOR,
    "agent": JUDGE_OPERATOR,
}


FORMULA_TOKENS = ["m", "f", *"0123456789", "+", "-", "*", "/", "^", "(", ")", ","]
FORMULA_TOKENS += ["min(", "max(", "log(", "sqrt(", "exp(", "abs(", " ", ".", "e", "x"]
SOUP = st.lists(st.sampled_from(FORMULA_TOKENS), max_size=900).map("".join)
ATOMS = st.sampled_from(["m", "f", "0", "1", "2.5", "9e999", "1e308", "1e-320", "0.0"])
GRAMMAR = st.recursive(
    ATOMS,
    lambda inner: st.one_of(
        st.builds(
            lambda a, op, b: f"({a}{op}{b})",
            inner,
            st.sampled_from(["+", "-", "*", "/", "^"]),
            inner,
        ),
        st.builds(
            lambda fn, a: f"{fn}({a})",
            st.sampled_from(["sqrt", "log", "exp", "abs", "floor", "ceil"]),
            inner,
        ),
        st.builds(
            lambda fn, a, b: f"{fn}({a},{b})", st.sampled_from(["min", "max", "log"]), inner, inner
        ),
        inner.map(lambda a: f"-{a}"),
    ),
    max_leaves=24,
)
REPEATED = st.builds(
    lambda unit, n: (unit * n)[:2500],
    st.sampled_from(["m+", "(", "-", "m^", "f*", "max(m,", "2^", "--"]),
    st.integers(1, 1300),
)
EXPRESSIONS = st.one_of(SOUP, GRAMMAR, GRAMMAR, GRAMMAR, REPEATED)
FORMULA_COMPONENTS = [{"reward": "math", "name": "m"}, {"reward": "exact_match", "name": "f"}]


STRAY_KEYS = {"workers": st.integers(), "sandbox": st.text(max_size=6), "model": MODEL_PATHS}


def _merged(pair: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
    return {**pair[0], **pair[1]}


def with_one_of(
    base: st.SearchStrategy[dict[str, Any]], extra: dict[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    """``base`` plus one key (and its value) drawn from ``extra``."""
    return st.tuples(
        base,
        st.sampled_from(sorted(extra)).flatmap(
            lambda key: extra[key].map(lambda value: (key, value))
        ),
    ).map(lambda pair: {**pair[0], pair[1][0]: pair[1][1]})


STRAY = st.dictionaries(st.text(max_size=10), JSON, min_size=1, max_size=2)


def params_of(type_id: str, strict: bool, ref: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Params for ``type_id``. Strict: values its Params model accepts, now and then one an
    operator alone may set (403). Wild: any value for those keys, unknown keys, non-objects.
    ``ref`` draws what a composite's slots hold (a name or a nested spec)."""
    if type_id in COMPOSITES:
        component = st.fixed_dictionaries(
            {"reward": ref},
            optional={
                "weight": ANY_FLOATS | st.none(),
                "name": st.sampled_from(["a", "b", "c", "m", "f"]) | st.text(max_size=6),
            },
        )
        components = st.lists(component, min_size=1, max_size=4)
        required: dict[str, st.SearchStrategy[Any]] = {
            "weighted": {"components": components},
            "vector": {"components": components},
            "gate": {"gate": ref, "reward": ref},
            "formula": {
                "expression": EXPRESSIONS,
                "components": st.just(FORMULA_COMPONENTS) | components,
            },
        }[type_id]
        optional: dict[str, st.SearchStrategy[Any]] = {
            "weighted": {"normalize": FLAGS},
            "vector": {"scalarize": st.sampled_from(["weighted_sum", "mean", "min"])},
            "gate": {"threshold": ANY_FLOATS, "otherwise": ANY_FLOATS},
            "formula": {},
        }[type_id]
    else:
        required = REQUIRED.get(type_id, {})
        optional = PARAMS[type_id]
        if type_id == "format":  # format needs a pattern or tags
            required = {"tags": st.lists(st.text(max_size=8), min_size=1, max_size=3)}
            optional = {k: v for k, v in optional.items() if k != "tags"}
    optional = {k: v for k, v in optional.items() if k not in required}
    if not strict:
        required = {k: v | JSON for k, v in required.items()}
        optional = {
            k: v | JSON_LEAVES for k, v in {**optional, **STRAY_KEYS}.items() if k not in required
        }
        plausible = st.fixed_dictionaries(required, optional=optional)
        return st.one_of(plausible, plausible, st.tuples(plausible, STRAY).map(_merged), JSON)
    plausible = st.fixed_dictionaries(required, optional=optional)
    if type_id not in OPERATOR:
        return plausible
    return st.one_of(*[plausible] * 5, with_one_of(plausible, OPERATOR[type_id]))


def spec(
    type_id: str, strict: bool, ref: st.SearchStrategy[Any]
) -> st.SearchStrategy[dict[str, Any]]:
    """An inline RewardSpec: its type and params, sometimes a name, weight or on_error."""
    if strict:
        fields: dict[str, st.SearchStrategy[Any]] = {
            "name": st.text(max_size=200),
            "weight": ANY_FLOATS | st.none(),
            "description": st.text(max_size=20),
            "on_error": VALID_ON_ERROR,
        }
        types: st.SearchStrategy[Any] = st.just(type_id)
    else:
        fields = {
            "name": st.text(max_size=210) | JSON,
            "weight": NUMBERS | JSON,
            "on_error": WILD_ON_ERROR,
            "kind": JSON,
        }
        types = st.just(type_id) | st.text(max_size=12) | JSON
    return st.fixed_dictionaries(
        {"type": types, "params": params_of(type_id, strict, ref)}, optional=fields
    )


NAMES = st.sampled_from(NAMED)


def chain(depth: int, kind: str, leaf: dict[str, Any] | str) -> dict[str, Any] | str:
    """A spec nested ``depth`` deep through one composite slot."""
    current = leaf
    for _ in range(depth):
        if kind == "gate":
            current = {"type": "gate", "params": {"gate": current, "reward": "exact_match"}}
        elif kind == "formula":
            components = [{"reward": current, "name": "m"}]
            current = {"type": "formula", "params": {"expression": "m", "components": components}}
        else:
            current = {"type": kind, "params": {"components": [{"reward": current}]}}
    return current


@cache
def rewards(strict: bool) -> st.SearchStrategy[Any]:
    """What ``reward`` holds: inline specs (leaf, nested, very deep) or names."""
    leaf_ref = NAMES if strict else NAMES | st.text(max_size=8) | JSON
    leaves = st.sampled_from(LEAF_TYPES).flatmap(lambda t: spec(t, strict, leaf_ref))

    def wrap(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        ref = leaf_ref | children
        return st.sampled_from(COMPOSITES).flatmap(lambda t: spec(t, strict, ref))

    nested = st.recursive(leaves, wrap, max_leaves=6)
    deep = st.builds(
        chain,
        st.one_of(
            st.integers(1, 8), st.integers(9, 12), st.integers(60, 70), st.integers(100, 300)
        ),
        st.sampled_from(["gate", "weighted", "vector", "formula"]),
        leaves | NAMES,
    )
    if strict:
        return st.one_of(nested, nested, leaves, leaves, deep, NAMES)
    return st.one_of(nested, leaves, deep, st.text(max_size=12), JSON)


@st.composite
def score_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """Three in four bodies are schema-valid throughout; the rest are wild anywhere."""
    strict = draw(st.integers(0, 3)) > 0
    body: dict[str, Any] = {"reward": draw(rewards(strict)), "items": draw(items(strict))}
    if draw(st.booleans()):
        body["options"] = draw(options(strict))
    if not strict and draw(st.booleans()):
        body[draw(st.text(max_size=6))] = draw(JSON)
    return body


# ---------------------------------------------------------------------------------------------
# The properties.


@settings(FUZZ, max_examples=400)
@given(body=score_bodies())
@example(
    body={
        "reward": {"type": "string_check", "params": {"operation": "regex"}},
        "items": [{"response": "a" * 210_000, "reference": "(a+)+$"}],
    }
)
@example(
    body={
        "reward": {
            "type": "formula",
            "params": {"expression": "9e999*m-9e999", "components": FORMULA_COMPONENTS},
        },
        "items": [{"response": "\\boxed{2}", "reference": "2"}],
    }
)
@example(
    body={"reward": chain(300, "gate", {"type": "string_check"}), "items": [{"response": "a"}]}
)
@example(
    body={
        "reward": {"type": "json", "params": {"schema": {"$ref": "http://127.0.0.1:9/s.json"}}},
        "items": [{"response": "{}"}],
    }
)
def test_score_never_answers_5xx_or_hangs(target: Target, body: dict[str, Any]) -> None:
    response = post(target, "/v1/score", encode(body))
    if response is not None:
        check_results(response, len(body["items"]))


def test_deep_reference_past_the_inline_budget_is_not_a_500(target: Target) -> None:
    """Found by the fuzzer: a rule batch too large to score on the event loop goes to a worker
    process as ``item.model_dump(mode="json")``, which pydantic refuses for a value nested
    more than about 254 deep ("Maximum serialization depth exceeded"): a 500, not a result."""
    for reward, size in [({"type": "text_similarity"}, 4_001), ("exact_match", 200_001)]:
        body = {"reward": reward, "items": [{"response": "a" * size, "reference": deep_list(255)}]}
        response = post(target, "/v1/score", encode(body))
        assert response is not None
        check_results(response, 1)


@st.composite
def compare_bodies(draw: st.DrawFn) -> dict[str, Any]:
    strict = draw(st.integers(0, 3)) > 0
    responses = TEXTS | VALID_MESSAGES if strict else st.text() | WILD_MESSAGES | JSON
    item = st.fixed_dictionaries(
        {"responses": st.lists(responses, min_size=2 if strict else 0, max_size=4)},
        optional={"prompt": st.text(), "reference": REFERENCES, "metadata": METADATA},
    )
    return {
        "reward": draw(rewards(strict)),
        "items": draw(st.lists(item, min_size=1, max_size=3)),
        "options": draw(options(strict)),
    }


@st.composite
def openrlhf_bodies(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """``POST /get_reward``: OpenRLHF's batch (same lengths, or not), under a named reward."""
    n = draw(st.integers(1, 4))
    queries = st.lists(TEXTS, min_size=n, max_size=n)
    body: dict[str, Any] = {"query": draw(queries)}
    if draw(st.booleans()):
        body["prompts"] = [q[: draw(st.integers(0, len(q)))] for q in body["query"]]
    if draw(st.booleans()):
        body["labels"] = draw(st.lists(REFERENCES, min_size=n, max_size=n))
    if draw(st.integers(0, 3)) == 0:  # wrong lengths, wrong types
        body[draw(st.sampled_from(["query", "prompts", "labels"]))] = draw(JSON)
    path = "/get_reward"
    reward = draw(st.none() | NAMES | st.text(max_size=10))
    if reward is not None:
        path += "?" + str(httpx.QueryParams({"reward": reward}))
    return path, body


@settings(FUZZ, max_examples=120)
@given(compare=compare_bodies(), openrlhf=openrlhf_bodies(), which=st.integers(0, 1))
def test_compare_and_openrlhf_never_answer_5xx_or_hang(
    target: Target, compare: dict[str, Any], openrlhf: tuple[str, dict[str, Any]], which: int
) -> None:
    if which == 0:
        response = post(target, "/v1/compare", encode(compare))
        if response is not None:
            check_results(response, len(compare["items"]), scores=False)
        return
    path, body = openrlhf
    response = post(target, path, encode(body))
    if response is not None:
        answer = response.json()
        assert len(answer["rewards"]) == len(body["query"]), response.text[:2000]
        assert all(isinstance(r, int | float) for r in answer["rewards"]), response.text[:2000]


SURROGATES = st.sampled_from(["\\ud800", "\\udfff", "\\ud83d\\ud83d", "\\udc00\\ud800", "\\uDBFF"])


def with_surrogate(body: bytes, escape: str, where: int) -> bytes:
    """``body`` with a lone surrogate escape just after one of its quote characters."""
    quotes = [i for i, b in enumerate(body) if b == ord('"')]
    if not quotes:
        return body + escape.encode()
    at = quotes[where % len(quotes)] + 1
    return body[:at] + escape.encode() + body[at:]


@st.composite
def raw_bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    path = draw(st.sampled_from(["/v1/score", "/v1/score", "/v1/compare", "/get_reward"]))
    valid: dict[str, Any]
    if path == "/v1/compare":
        valid = {"reward": "exact_match", "items": [{"responses": ["a", "b"]}]}
    elif path == "/get_reward":
        valid = {"query": ["1+1=2"], "prompts": ["1+1="], "labels": ["2"]}
    else:
        valid = {"reward": draw(rewards(True)), "items": draw(items(True))}
    text = encode(valid)
    kind = draw(st.sampled_from(["surrogate", "deep", "deep_field", "cut", "bytes", "literal"]))
    if kind == "surrogate":
        return path, with_surrogate(text, draw(SURROGATES), draw(st.integers(0, 10_000)))
    if kind == "deep":
        depth = draw(st.sampled_from([900, 1_000, 3_000, 10_000]))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        return path, (opener * depth + "0" + closer * depth).encode()
    if kind == "deep_field":
        depth = draw(st.sampled_from([200, 255, 900, 990, 1_000, 10_000]))
        nested = deep_list(depth, draw(st.sampled_from(["0", '"x"', "{}", '"\\ud800"'])))
        field = draw(st.sampled_from(["reference", "metadata", "steps", "response", "params"]))
        if field == "params":
            reward = {"type": "string_check", "params": {"reference": nested}}
            return path, encode({"reward": reward, "items": [{"response": "a"}]})
        return path, encode({"reward": "exact_match", "items": [{"response": "a", field: nested}]})
    if kind == "cut":
        return path, text[: draw(st.integers(0, max(0, len(text) - 1)))]
    if kind == "bytes":
        return path, draw(
            st.binary(max_size=200)
            | st.sampled_from([b"\xef\xbb\xbf" + text, b"\xff\xfe{}", text + b"\x00", b""])
        )
    literal = st.sampled_from(
        [
            *(b"null", b"[]", b'"x"', b"NaN", b"1e999", b"9" * 5000, b"{}" * 3),
            text.replace(b'"items"', b'"items":[],"items"', 1),  # a duplicate key
            b'{"reward":"math","items":[{"response":"1","reference":' + b"9" * 5000 + b"}]}",
            b'{"reward":"math","items":[{"response":"1","reference":-Infinity}]}',
        ]
    )
    return path, draw(literal)


@settings(FUZZ, max_examples=150)
@given(
    case=raw_bodies(), content_type=st.sampled_from(["application/json"] * 4 + ["text/plain", ""])
)
@example(case=("/v1/score", b"[" * 10_000 + b"]" * 10_000), content_type="application/json")
@example(
    case=("/v1/score", b'{"reward":"exact_match","items":[{"response":"\\ud800"}]}'),
    content_type="application/json",
)
def test_raw_bodies_never_answer_5xx_or_hang(
    target: Target, case: tuple[str, bytes], content_type: str
) -> None:
    path, content = case
    headers = {**HEADERS, "Content-Type": content_type}
    if not content_type:
        del headers["Content-Type"]
    response = post(target, path, content, headers)
    if response is None or path == "/get_reward":
        return
    try:
        sent = json.loads(content)
    except (ValueError, RecursionError):
        pytest.fail(f"200 to a body that is not JSON: {shown(content)}")
    check_results(response, len(sent["items"]), scores=path == "/v1/score")


def test_server_is_healthy_after_fuzzing(target: Target) -> None:
    """Runs last (file order): the fuzzing left the server up and its event loop free."""
    assert target.server.process.poll() is None, target.log_since(0)
    started = time.monotonic()
    health = httpx.get(f"{target.server.url}/healthz", timeout=1.0)
    assert health.status_code == 200
    assert time.monotonic() - started < 1.0
