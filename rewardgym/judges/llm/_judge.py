"""What every LLM judge shares: a backend per event loop, templates, and one ask-and-read step."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import itertools
import json
import statistics
import weakref
from collections.abc import Awaitable, Callable, Hashable
from importlib import resources
from typing import Any, ClassVar, Self, TypeVar

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import Field, model_validator

from rewardgym.errors import ConfigError, RewardError, UnknownRewardError
from rewardgym.judges.backends.base import BackendError, ChatBackend, ChatRequest, ChatResponse
from rewardgym.judges.backends.factory import BackendParams, make_backend, origin
from rewardgym.judges.base import Params, Reward
from rewardgym.judges.llm.kept_requests import kept_requests, text_size
from rewardgym.judges.llm.master_keys import is_contentless
from rewardgym.judges.llm.parsers import VerdictError, neutralise
from rewardgym.judges.texts import reference_texts, text_of
from rewardgym.schema import (
    Basis,
    CompareItem,
    ErrorType,
    Item,
    Message,
    Result,
    RewardSpec,
    StepScore,
)

__all__ = [
    "JudgeParams",
    "LLMJudge",
    "combine_samples",
    "compare_item_key",
    "compile_template",
    "item_key",
    "list_verdict_format",
]

T = TypeVar("T")
_CUT = frozenset({"length", "content_filter"})
_JUDGE_IDS = itertools.count()

# Sandboxed even for the config's templates: a template reaches only the values it is given,
# never Python internals (``cycler.__init__.__globals__``...), and cannot change them.
_ENV = ImmutableSandboxedEnvironment(
    undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False
)


def template_source(override: str | None, builtin: str) -> str:
    """The config's override, or a built-in file from ``templates/``."""
    if override is not None:
        return override
    return (resources.files("rewardgym.judges.llm") / "templates" / builtin).read_text()


def compile_template(override: str | None, builtin: str, reward: str) -> jinja2.Template:
    """A Jinja2 template: the config's override, or a built-in file from ``templates/``."""
    source = template_source(override, builtin)
    try:
        return _ENV.from_string(source)
    except (jinja2.TemplateError, RecursionError) as exc:
        raise ConfigError(f"reward {reward!r}: bad template: {exc}") from exc


def _hashable(value: Any) -> Hashable:
    """A prompt, response or reference as a dict key, tagged with its kind (the text
    '["1"]' and the list ["1"] are different references)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(m, Message) for m in value):
        return ("messages", tuple((m.role, m.content) for m in value))
    return ("json", json.dumps(value, sort_keys=True, default=str))


def item_key(item: Item) -> tuple[Hashable, ...]:
    """What a judge's request is built from, as a dict key: the item's prompt, response,
    reference and steps (not its metadata, which no judge template is given)."""
    steps = tuple(item.steps) if item.steps is not None else None
    return (
        _hashable(item.prompt),
        _hashable(item.response),
        _hashable(item.reference),
        steps,
    )


def compare_item_key(item: CompareItem) -> tuple[Hashable, ...]:
    """``item_key`` of an item to compare: its prompt, responses and reference."""
    return (
        _hashable(item.prompt),
        tuple(_hashable(r) for r in item.responses),
        _hashable(item.reference),
    )


def list_verdict_format(
    how: str, key: str, n: int, item_regex: str, item_schema: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(response_format, extra_body) constraining a verdict ``{key: [x1, ..., xn]}``: a vLLM
    regex without free whitespace (``how="vllm"``), an OpenAI json_schema
    (``"response_format"``), or nothing (``"none"``)."""
    if how == "vllm":
        regex = r'\{"' + key + r'":\[' + item_regex + ("," + item_regex) * (n - 1) + r"\]\}"
        return None, {"structured_outputs": {"regex": regex}}
    if how == "response_format":
        array = {"type": "array", "items": item_schema, "minItems": n, "maxItems": n}
        schema = {"type": "object", "required": [key], "properties": {key: array}}
        return {"type": "json_schema", "json_schema": {"name": key, "schema": schema}}, None
    return None, None


class JudgeParams(Params):
    """Params every LLM judge has."""

    backend: BackendParams | str = Field(
        description="the judge's backend, or the name of one the config's backends define"
    )
    use_reference: bool = Field(default=False, description="reference-guided: judge against it")
    max_tokens: int = Field(default=512, ge=1, le=8192)
    temperature: float = Field(default=0.0, ge=0, le=2)
    top_logprobs: int = Field(default=20, ge=1, le=20, description="for logprobs verdicts")
    system_template: str | None = Field(default=None, description="Jinja2 source override")
    user_template: str | None = Field(default=None, description="Jinja2 source override")
    samples: int = Field(
        default=1, ge=1, le=32, description="self-consistency: judgments per item, averaged"
    )
    shadow: str | None = Field(
        default=None,
        max_length=200,
        description=(
            "a rule reward (a reward of the config, or a type: math, string_check, code) that "
            "checks items with a reference; a sample of this judge's verdicts on them is "
            "compared with the rule's (both pass at score >= 0.5) within the audit budget"
        ),
    )
    contentless_floor: bool = Field(
        default=True,
        description=(
            "a response with nothing to judge (blank, punctuation only, or a bare opener such "
            "as 'Thought process:') scores the lowest without asking the judge: such 'master "
            "keys' fool many judges"
        ),
    )

    # shadow: the audits' rule runs on callers' items and sets the judge's health figures
    OPERATOR_ONLY = frozenset({"system_template", "user_template", "shadow"})
    AT_MOST_DEFAULT = frozenset({"max_tokens", "samples"})  # each sample is a backend call
    NAMED_ONLY = frozenset({"backend"})

    @model_validator(mode="after")
    def _sampling_needs_temperature(self) -> JudgeParams:
        if self.samples > 1 and self.temperature == 0:
            raise ValueError(
                f"samples={self.samples} needs temperature > 0 (greedy samples are all alike)"
            )
        return self


def combine_samples(results: list[Result], step_labels: tuple[str, str] | None = None) -> Result:
    """Self-consistency: one Result from several judgments of the same item.

    ``score`` and each of ``scores`` are averaged and their spread (population standard
    deviation) reported; step scores are averaged and, given ``step_labels`` (good, bad), each
    step is labelled by the majority. Critique and other details come from the first sample.
    """
    first = results[0]
    sample_scores = [r.score for r in results if r.score is not None]
    combined = first.model_copy(deep=True)
    combined.score = statistics.fmean(sample_scores) if sample_scores else None
    combined.scores = {
        key: statistics.fmean(v for r in results if (v := r.scores.get(key)) is not None)
        for key in first.scores
    }
    if first.steps is not None:
        steps = []
        for i, step in enumerate(first.steps):
            values = [s.score for r in results if r.steps and (s := r.steps[i]).score is not None]
            mean = statistics.fmean(values) if values else None
            label = step.label
            if step_labels is not None and mean is not None:
                label = step_labels[0] if mean >= 0.5 else step_labels[1]
            steps.append(StepScore(index=step.index, text=step.text, score=mean, label=label))
        combined.steps = steps
    combined.cached = all(r.cached for r in results)
    combined.metadata["samples"] = len(results)
    combined.metadata["sample_scores"] = sample_scores
    combined.metadata["spread"] = statistics.pstdev(sample_scores) if sample_scores else None
    return combined


class LLMJudge(Reward):
    """Base of the LLM judges. Subclasses build requests and read verdicts.

    ``templates`` names the built-in ``templates/{templates}_system.jinja`` and
    ``..._user.jinja``; the config's ``system_template``/``user_template`` override them.
    """

    templates: ClassVar[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        p: JudgeParams = self.params
        if isinstance(p.backend, str):
            self.backend_params: BackendParams = self.resolver.backend_params(p.backend)
        else:
            self.backend_params = p.backend
        self._system = compile_template(
            p.system_template, f"{self.templates}_system.jinja", self.name
        )
        self._user = compile_template(p.user_template, f"{self.templates}_user.jinja", self.name)
        sources = [
            template_source(p.system_template, f"{self.templates}_system.jinja"),
            template_source(p.user_template, f"{self.templates}_user.jinja"),
        ]
        self._templates_digest = hashlib.sha256("\x00".join(sources).encode()).hexdigest()
        self._backends: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ChatBackend]
        self._backends = weakref.WeakKeyDictionary()
        self._systems: dict[tuple[tuple[str, Any], ...], str] = {}
        self._id = next(_JUDGE_IDS)  # its kept requests' part of the key
        self._permuted: dict[int, LLMJudge] = {}
        self.shadow_rule()  # a shadow that is no rule fails when the judge is built

    def sibling(self, **changes: Any) -> Self:
        """A copy of this judge with ``changes`` to its attributes, sharing its backends
        (closed with it) but not its kept requests (it asks other things)."""
        clone = copy.copy(self)
        clone._id = next(_JUDGE_IDS)
        clone._systems = {}
        clone._permuted = {}
        for name, value in changes.items():
            setattr(clone, name, value)
        return clone

    def permuted(self, seed: int) -> LLMJudge | None:
        """This judge with its inputs in permuted form ``seed`` (audits re-judge with it);
        None: it has nothing to permute. Subclasses build it in ``_permute``."""
        sibling = self._permuted.get(seed)
        if sibling is None:
            sibling = self._permute(seed)
            if sibling is None:
                return None
            if len(self._permuted) >= 16:
                self._permuted.clear()
            self._permuted[seed] = sibling
        return sibling

    def _permute(self, seed: int) -> LLMJudge | None:
        return None

    def shadow_rule(self) -> Reward | None:
        """The rule reward named by ``shadow`` (a reward of the config, else a type with its
        default params); None when there is none."""
        name: str | None = self.params.shadow
        if name is None:
            return None
        try:
            rule = self.resolver.resolve(name)
        except UnknownRewardError:
            try:
                rule = self.resolver.resolve(RewardSpec(type=name))
            except UnknownRewardError as exc:
                raise ConfigError(
                    f"reward {self.name!r}: shadow {name!r} is neither a reward of the config "
                    "nor a reward type"
                ) from exc
        if rule.taxonomy.basis != Basis.RULE:
            raise ConfigError(
                f"reward {self.name!r}: shadow {name!r} is not a rule reward "
                f"(its basis is {rule.taxonomy.basis.value})"
            )
        return rule

    def implementation(self) -> dict[str, Any]:
        """The reward's, with what answers (the backend's kind, model, and a digest of its
        servers: a URL may hold credentials, and callers read implementations) and the
        templates' hash; sampling is in the params. Not the name the config gives either."""
        implementation = super().implementation()
        for hidden in ("backend", "system_template", "user_template"):  # hashed below
            implementation["params"].pop(hidden, None)
        b = self.backend_params
        servers = hashlib.sha256(origin(b).encode()).hexdigest()[:16]
        implementation["backend"] = {
            "kind": b.kind,
            "model": b.model,
            "servers": servers,
            "structured_output": b.structured_output,
        }
        implementation["templates"] = self._templates_digest
        return implementation

    def contentless(self, response: Any) -> bool:
        """Whether ``response`` is a master key this judge floors (``contentless_floor``)."""
        return self.params.contentless_floor and is_contentless(text_of(response))

    @staticmethod
    def floored(score: float) -> Result:
        """The Result of a response with nothing to judge: ``score`` (the lowest), no call."""
        return Result(
            score=score,
            critique="The response has nothing to judge; it gets the lowest score.",
            metadata={"guard": "contentless"},
        )

    def render_user(self, **values: Any) -> str:
        """The user message: the template given ``values`` and the markers' ``tag``, a digest
        of the judged texts. The judged text cannot carry its own marker's tag (the tag depends
        on that very text), so a look-alike marker in it ("[\u0415ND RESPONSE]") never
        matches the true ones; the same texts always get the same tag (the cache holds)."""
        digest = hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode())
        return self._user.render(**values, tag=digest.hexdigest()[:10])

    def system_message(self, template: jinja2.Template, **settings: Any) -> str:
        """The system message: it depends only on the judge's settings, so it is rendered once
        per distinct settings (item text never reaches the system template)."""
        key = tuple(sorted(settings.items()))
        message = self._systems.get(key)
        if message is None:
            message = self._systems[key] = template.render(**settings).strip()
        return message

    async def start(self) -> None:
        """An in-process model is loaded before the server says it is ready."""
        warm = getattr(self.backend, "warm", None)
        if warm is not None:
            try:
                await warm()
            except (OSError, ValueError) as exc:
                raise ConfigError(
                    f"reward {self.name!r}: cannot load judge model "
                    f"{self.backend_params.model!r}: {exc}"
                ) from exc

    @property
    def backend(self) -> ChatBackend:
        """This event loop's backend (clients and semaphores belong to one loop)."""
        loop = asyncio.get_running_loop()
        backend = self._backends.get(loop)
        if backend is None:
            backend = self._backends[loop] = make_backend(self.backend_params)
        return backend

    def built(
        self, key: Hashable | None, attempt: int, build: Callable[[int], ChatRequest]
    ) -> ChatRequest:
        """``build(attempt)``, kept under ``key`` (``kept_requests``): an item judged again
        (the judgment cache's warm path) is not rendered again, nor its cache key hashed
        again (the request keeps its key). ``key`` must fix everything ``build`` reads
        (``item_key`` plus the order and sample); the judge's params are fixed for its
        lifetime."""
        if key is None:
            return build(attempt)
        full = (self._id, key, attempt)
        request = kept_requests.get(full)
        if request is None:
            request = build(attempt)
            kept_requests.put(full, request, 2 * text_size(key) + 512)
        return request

    async def ask(
        self,
        build: Callable[[int], ChatRequest],
        read: Callable[[ChatResponse], T],
        key: Hashable | None = None,
    ) -> T:
        """Send ``build(attempt)`` and ``read`` the answer. An unreadable verdict is asked once
        more (past the cache); then it is a ``judge_parse_error``. Backend failures become
        ``timeout`` or ``backend_error`` on the item. ``key``: see ``built``."""
        last: VerdictError | None = None
        text = ""
        for attempt in range(2):
            request = self.built(key, attempt, build)
            try:
                response = await self.backend.chat(request)
            except BackendError as exc:
                kind = ErrorType.TIMEOUT if exc.timeout else ErrorType.BACKEND_ERROR
                raise RewardError(kind, str(exc), retryable=exc.retryable) from exc
            cut = response.finish_reason in _CUT
            if cut and not request.top_logprobs:  # a log-prob verdict stops at its token
                # A reply cut short may end inside a quote of the judged text ("... Score: 10"):
                # never read it.
                last = VerdictError(f"the judge's reply was cut ({response.finish_reason})")
                text = response.text
                continue
            try:
                return read(response)
            except VerdictError as exc:
                last, text = exc, response.text
        raise RewardError(
            ErrorType.JUDGE_PARSE_ERROR,
            f"unreadable verdict ({last}); it began {text[:200]!r}",
            retryable=True,
        )

    @staticmethod
    def cache_namespace(namespace: str, attempt: int) -> str:
        """A retry after an unreadable verdict asks past the cache."""
        return f"{namespace}:retry{attempt}" if attempt else namespace

    def reference(self, item: Any) -> str | None:
        """The item's reference, neutralised, when this judge uses one (it must be there)."""
        if not self.params.use_reference:
            return None
        if item.reference is None:
            raise RewardError(ErrorType.INVALID_INPUT, f"reward {self.name!r} needs a reference")
        texts = reference_texts(item.reference, f"reward {self.name!r}")
        return neutralise(texts[0] if len(texts) == 1 else "\n".join(texts))

    def seed(self, sample: int) -> int | None:
        """The sampling seed of self-consistency sample ``sample`` (none for one sample)."""
        return sample if self.params.samples > 1 else None

    async def sampled(
        self,
        judge_once: Callable[[int], Awaitable[Result]],
        step_labels: tuple[str, str] | None = None,
    ) -> Result:
        """``judge_once(sample)`` for each of ``params.samples`` samples, combined. Samples
        that fail are counted in ``metadata["failed_samples"]``; if all fail, the first
        error is the item's."""
        n = self.params.samples
        if n == 1:
            return await judge_once(0)
        outcomes = await asyncio.gather(*(judge_once(i) for i in range(n)), return_exceptions=True)
        results = [o for o in outcomes if isinstance(o, Result)]
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        if not results:
            raise failures[0]
        combined = combine_samples(results, step_labels)
        combined.metadata["failed_samples"] = len(failures)
        return combined

    async def aclose(self) -> None:
        for backend in list(self._backends.values()):
            await backend.aclose()
