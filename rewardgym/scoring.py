"""How environments get rewards: one code path, in process or over the network.

``LocalScorer`` runs a ``RewardService`` on a background event loop (worker pools, judge
backends and caches live there, shared by every environment in the process); ``RemoteScorer``
calls a reward server with the rewardgym client, so a server that is down or slow is a clear
error after its timeout (``UnavailableError``, ``RequestTimeoutError``), never a hang. Both
score a batch with one call per reward, under the same deadline.

For code that already runs on an event loop (the OpenEnv server), ``ServiceScorer`` and
``AsyncRemoteScorer`` are the same two ways as coroutines awaited on that loop: no thread
hop per call (``score_jobs_async``, ``TextEnv.step_async``).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
from collections.abc import Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from rewardgym.errors import RequestTimeoutError
from rewardgym.schema import MAX_DEADLINE_S, Item, Result, RewardSpec, ScoreOptions, ScoreRequest

__all__ = [
    "AsyncRemoteScorer",
    "AsyncScorer",
    "LocalScorer",
    "RemoteScorer",
    "ScoreJob",
    "Scorer",
    "ServiceScorer",
    "make_async_scorer",
    "make_scorer",
    "score_jobs",
    "score_jobs_async",
]

RewardRef = str | RewardSpec | dict[str, Any]


@dataclass
class ScoreJob:
    """One item to score with one reward (environments hand these to a scorer)."""

    reward: RewardRef
    item: Item


class Scorer(Protocol):
    """Scores items with a reward; one Result per item, in order (errors stay on items)."""

    calls: int

    def score(self, reward: RewardRef, items: Sequence[Item]) -> list[Result]: ...

    def close(self) -> None: ...


def _key(reward: RewardRef) -> str:
    if isinstance(reward, str):
        return reward
    spec = reward if isinstance(reward, RewardSpec) else RewardSpec.model_validate(reward)
    return spec.model_dump_json()


class AsyncScorer(Protocol):
    """``Scorer`` as coroutines, awaited on the caller's event loop."""

    calls: int

    async def score(self, reward: RewardRef, items: Sequence[Item]) -> list[Result]: ...

    async def aclose(self) -> None: ...


def _groups(jobs: Sequence[ScoreJob]) -> list[list[int]]:
    """The jobs' indices, one list per distinct reward."""
    groups: dict[str, list[int]] = {}
    for index, job in enumerate(jobs):
        groups.setdefault(_key(job.reward), []).append(index)
    return list(groups.values())


def _in_order(
    jobs: Sequence[ScoreJob], scored: list[tuple[list[int], list[Result]]]
) -> list[Result]:
    results: list[Result | None] = [None] * len(jobs)
    for indices, group in scored:
        for i, result in zip(indices, group, strict=True):
            results[i] = result
    return [r for r in results if r is not None]


def score_jobs(scorer: Scorer, jobs: Sequence[ScoreJob]) -> list[Result]:
    """Score jobs with one call per distinct reward; results in the jobs' order."""
    scored = []
    for indices in _groups(jobs):
        reward = jobs[indices[0]].reward
        scored.append((indices, scorer.score(reward, [jobs[i].item for i in indices])))
    return _in_order(jobs, scored)


async def score_jobs_async(scorer: AsyncScorer, jobs: Sequence[ScoreJob]) -> list[Result]:
    """``score_jobs`` on an event loop: the rewards' calls run together."""
    groups = _groups(jobs)
    scored = await asyncio.gather(
        *(scorer.score(jobs[g[0]].reward, [jobs[i].item for i in g]) for g in groups)
    )
    return _in_order(jobs, list(zip(groups, scored, strict=True)))


def _request(reward: RewardRef, items: Sequence[Item], timeout_s: float) -> ScoreRequest:
    """An environment's scoring request: failed items stay errors on their results."""
    return ScoreRequest(
        reward=reward if not isinstance(reward, dict) else RewardSpec.model_validate(reward),
        items=list(items),
        options=ScoreOptions(on_error="null", deadline_s=min(timeout_s, MAX_DEADLINE_S)),
    )


class _LoopThread:
    """One background event loop per process, for in-process scoring from sync code."""

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def loop(cls) -> asyncio.AbstractEventLoop:
        with cls._lock:
            if cls._loop is None or cls._loop.is_closed():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="rewardgym-env-scoring", daemon=True
                )
                thread.start()
                cls._loop = loop
            return cls._loop


class LocalScorer:
    """Score in this process through ``RewardService`` (the server's own service layer).

    Args:
        config: a reward config YAML (default: the server's settings / the built-in config).
        timeout_s: the most one scoring call may take; items past it time out as errors.
    """

    _services: ClassVar[dict[str | None, Any]] = {}
    _services_lock = threading.Lock()

    def __init__(self, config: str | None = None, timeout_s: float = 300.0) -> None:
        self.config = config
        self.timeout_s = timeout_s
        self.calls = 0

    def _service(self) -> Any:
        with self._services_lock:
            service = self._services.get(self.config)
            if service is None:
                from rewardgym.service import RewardService

                service = RewardService.from_settings(_settings(self.config))
                self._services[self.config] = service
            return service

    def score(self, reward: RewardRef, items: Sequence[Item]) -> list[Result]:
        if not items:
            return []
        future = asyncio.run_coroutine_threadsafe(
            self._service().score(_request(reward, items, self.timeout_s)), _LoopThread.loop()
        )
        self.calls += 1
        try:
            return list(future.result(self.timeout_s + 5.0).results)
        except FutureTimeout as exc:
            future.cancel()
            raise RequestTimeoutError(
                f"in-process scoring did not finish within {self.timeout_s:g} s"
            ) from exc

    def close(self) -> None:
        """Nothing to release per scorer: the service is shared by the process (and closed
        when the process exits)."""

    @classmethod
    def close_services(cls) -> None:
        """Close the process's in-process services (worker pools, judge clients); called at
        exit, and by tests."""
        with cls._services_lock:
            services = list(cls._services.values())
            cls._services.clear()
        if not services or _LoopThread._loop is None or _LoopThread._loop.is_closed():
            return
        for service in services:
            future = asyncio.run_coroutine_threadsafe(service.aclose(), _LoopThread._loop)
            with contextlib.suppress(Exception):
                future.result(10.0)


def _client_options(timeout_s: float, retry_budget_s: float, api_key: str | None) -> dict[str, Any]:
    """A remote scorer's client options: its HTTP calls wait ``DEADLINE_GRACE_S`` past the
    request's deadline, and retry for ``retry_budget_s`` in all."""
    from rewardgym.client.retry import DEADLINE_GRACE_S

    return {
        "timeout": timeout_s + DEADLINE_GRACE_S,
        "retry_budget_s": retry_budget_s,
        "api_key": api_key,
    }


def _settings(config: str | None) -> Any:
    """The settings of an in-process service: ``config``'s rewards, else the default."""
    from rewardgym.config import Settings

    return Settings() if config is None else Settings(config=Path(config))


class RemoteScorer:
    """Score through a reward server (HTTP) with the rewardgym client.

    Args:
        url: the server, e.g. ``http://127.0.0.1:8000``.
        timeout_s: the request's deadline on the server (items past it come back as
            ``timeout`` errors); the HTTP call waits ``DEADLINE_GRACE_S`` (2 s) more, and a
            server that still does not answer is a ``RequestTimeoutError`` (after the retries).
        retry_budget_s: connection errors and 429/502/503/504 are retried, with jittered
            backoff, for up to this many seconds in all (long enough to ride out a restart).
        api_key: the server's API key; default ``$REWARDGYM_API_KEY``.
    """

    def __init__(
        self,
        url: str,
        timeout_s: float = 60.0,
        retry_budget_s: float = 300.0,
        api_key: str | None = None,
    ) -> None:
        from rewardgym.client import RewardClient

        self.url = url
        self.calls = 0
        self.deadline_s = min(timeout_s, MAX_DEADLINE_S)
        self._client = RewardClient(url, **_client_options(timeout_s, retry_budget_s, api_key))

    def score(self, reward: RewardRef, items: Sequence[Item]) -> list[Result]:
        if not items:
            return []
        self.calls += 1
        return self._client.score(reward, list(items), on_error="null", deadline_s=self.deadline_s)

    def close(self) -> None:
        self._client.close()


class ServiceScorer:
    """Score through a ``RewardService`` awaited on the loop it was started on:
    ``scorer = await ServiceScorer.start(config)``, then ``await scorer.aclose()``.

    Args:
        service: a started service (its pools and judge clients belong to this loop).
        timeout_s: the most one scoring call may take; items past it time out as errors.
    """

    def __init__(self, service: Any, timeout_s: float = 300.0) -> None:
        self.service = service
        self.timeout_s = timeout_s
        self.calls = 0

    @classmethod
    async def start(cls, config: str | None = None, timeout_s: float = 300.0) -> ServiceScorer:
        """A scorer over a new service built from ``config`` and warmed on this loop."""
        from rewardgym.service import RewardService

        service = RewardService.from_settings(_settings(config))
        await service.start()
        return cls(service, timeout_s)

    async def score(self, reward: RewardRef, items: Sequence[Item]) -> list[Result]:
        if not items:
            return []
        self.calls += 1
        response = await self.service.score(_request(reward, items, self.timeout_s))
        return list(response.results)

    async def aclose(self) -> None:
        await self.service.aclose()


class AsyncRemoteScorer:
    """``RemoteScorer`` with the async client (same deadline, retries and errors)."""

    def __init__(
        self,
        url: str,
        timeout_s: float = 60.0,
        retry_budget_s: float = 300.0,
        api_key: str | None = None,
    ) -> None:
        from rewardgym.client import AsyncRewardClient

        self.url = url
        self.calls = 0
        self.deadline_s = min(timeout_s, MAX_DEADLINE_S)
        self._client = AsyncRewardClient(url, **_client_options(timeout_s, retry_budget_s, api_key))

    async def score(self, reward: RewardRef, items: Sequence[Item]) -> list[Result]:
        if not items:
            return []
        self.calls += 1
        return await self._client.score(
            reward, list(items), on_error="null", deadline_s=self.deadline_s
        )

    async def aclose(self) -> None:
        await self._client.aclose()


async def make_async_scorer(
    url: str | None = None, *, config: str | None = None, timeout_s: float = 300.0
) -> AsyncScorer:
    """An async scorer on this loop: a reward server's URL, or ``None`` (a service in this
    process, started here)."""
    if url is None:
        return await ServiceScorer.start(config, timeout_s)
    return AsyncRemoteScorer(url, timeout_s)


def make_scorer(
    scorer: Scorer | str | None = None, *, config: str | None = None, timeout_s: float = 300.0
) -> Scorer:
    """A scorer: given as is, a URL (remote), or ``None`` (in process)."""
    if scorer is None:
        return LocalScorer(config, timeout_s)
    if isinstance(scorer, str):
        return RemoteScorer(scorer, timeout_s)
    return scorer


atexit.register(LocalScorer.close_services)
