"""What every LLM judge shares: a backend per event loop, templates, and one ask-and-read step."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from importlib import resources
from typing import Any, TypeVar

import jinja2
from pydantic import Field

from rewardgym.errors import ConfigError, RewardError
from rewardgym.judges.backends.base import BackendError, ChatRequest, ChatResponse
from rewardgym.judges.backends.factory import BackendParams, make_backend
from rewardgym.judges.backends.openai_compat import OpenAICompatBackend
from rewardgym.judges.base import Params, Reward
from rewardgym.judges.llm.parsers import VerdictError
from rewardgym.schema import ErrorType

__all__ = ["JudgeParams", "LLMJudge", "compile_template"]

T = TypeVar("T")

_ENV = jinja2.Environment(
    undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False
)


def compile_template(override: str | None, builtin: str, reward: str) -> jinja2.Template:
    """A Jinja2 template: the config's override, or a built-in file from ``templates/``."""
    source = override
    if source is None:
        source = (resources.files("rewardgym.judges.llm") / "templates" / builtin).read_text()
    try:
        return _ENV.from_string(source)
    except jinja2.TemplateError as exc:
        raise ConfigError(f"reward {reward!r}: bad template: {exc}") from exc


class JudgeParams(Params):
    """Params every LLM judge has."""

    backend: BackendParams
    use_reference: bool = Field(default=False, description="reference-guided: judge against it")
    max_tokens: int = Field(default=512, ge=1, le=8192)
    temperature: float = Field(default=0.0, ge=0, le=2)
    top_logprobs: int = Field(default=20, ge=1, le=20, description="for logprobs verdicts")
    system_template: str | None = Field(default=None, description="Jinja2 source override")
    user_template: str | None = Field(default=None, description="Jinja2 source override")


class LLMJudge(Reward):
    """Base of the LLM judges. Subclasses build requests and read verdicts."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._backends: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, OpenAICompatBackend]
        self._backends = weakref.WeakKeyDictionary()
        self._systems: dict[tuple[tuple[str, Any], ...], str] = {}

    def system_message(self, template: jinja2.Template, **settings: Any) -> str:
        """The system message: it depends only on the judge's settings, so it is rendered once
        per distinct settings (item text never reaches the system template)."""
        key = tuple(sorted(settings.items()))
        message = self._systems.get(key)
        if message is None:
            message = self._systems[key] = template.render(**settings).strip()
        return message

    @property
    def backend(self) -> OpenAICompatBackend:
        """This event loop's backend (clients and semaphores belong to one loop)."""
        loop = asyncio.get_running_loop()
        backend = self._backends.get(loop)
        if backend is None:
            backend = self._backends[loop] = make_backend(self.params.backend)
        return backend

    async def ask(
        self, build: Callable[[int], ChatRequest], read: Callable[[ChatResponse], T]
    ) -> T:
        """Send ``build(attempt)`` and ``read`` the answer. An unreadable verdict is asked once
        more (past the cache); then it is a ``judge_parse_error``. Backend failures become
        ``timeout`` or ``backend_error`` on the item."""
        last: VerdictError | None = None
        text = ""
        for attempt in range(2):
            try:
                response = await self.backend.chat(build(attempt))
            except BackendError as exc:
                kind = ErrorType.TIMEOUT if exc.timeout else ErrorType.BACKEND_ERROR
                raise RewardError(kind, str(exc), retryable=exc.retryable) from exc
            try:
                return read(response)
            except VerdictError as exc:
                last, text = exc, response.text
        raise RewardError(
            ErrorType.JUDGE_PARSE_ERROR,
            f"unreadable verdict ({last}); it began {text[:200]!r}",
            retryable=True,
        )

    async def aclose(self) -> None:
        for backend in list(self._backends.values()):
            await backend.aclose()
