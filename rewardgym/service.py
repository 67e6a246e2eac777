"""RewardService: the one layer both fronts (and in-process users) call."""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import re
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from rewardgym.config import Settings, load_reward_config
from rewardgym.errors import (
    InvalidRequestError,
    NotFoundError,
    OverloadedError,
    PayloadTooLargeError,
    RewardGymError,
    UnavailableError,
)
from rewardgym.health import Audits, HealthMonitor
from rewardgym.judge_audits import JudgeAuditor
from rewardgym.judges.backends.factory import CacheDefaults, configure_cache, ledger_location
from rewardgym.judges.base import Reward, ScoreContext
from rewardgym.judges.deadline import deadline_scope
from rewardgym.judges.lifecycle import close_shared, start_shared
from rewardgym.judges.user_regex import RegexLimits, configure_regex
from rewardgym.ledger import Ledger, open_records
from rewardgym.metrics import (
    ITEMS,
    LEDGER_WRITES,
    REJECTED,
    REQUEST_SECONDS,
    REQUESTS,
    register_gauges,
)
from rewardgym.on_error import apply_on_error
from rewardgym.registry import RewardRegistry, load_type, reward_types
from rewardgym.schema import (
    CompareRequest,
    LedgerEntry,
    OnError,
    Result,
    RewardInfo,
    RewardSpec,
    ScoreOptions,
    ScoreRequest,
    ScoreResponse,
)
from rewardgym.trust import (
    OPERATOR,
    Caller,
    InlineLimits,
    InlinePolicy,
    check_inline,
    key_id,
    split_keys,
)

__all__ = ["RewardService"]

log = logging.getLogger(__name__)

_ADDRESS = re.compile("[0-9a-f]{64}")


def _import_reward_types() -> None:
    for type_id in reward_types():
        try:
            load_type(type_id).warm_imports()
        except RewardGymError as exc:  # a plugin that cannot load: said when it is used
            log.warning("reward type %s cannot be loaded: %s", type_id, exc.message)


class RewardService:
    """Look up a reward, admit a batch (or refuse it: overloaded), score it under a deadline,
    apply the on_error policy."""

    def __init__(self, registry: RewardRegistry, settings: Settings | None = None) -> None:
        self.registry = registry
        self.settings = settings or Settings()
        s = self.settings
        self.trusted_key_ids = frozenset(key_id(k) for k in split_keys(s.trusted_api_keys))
        self.inline_policy = InlinePolicy(
            mode=s.inline_specs,
            limits=InlineLimits(
                max_nesting=s.inline_max_nesting,
                max_json_depth=s.inline_max_json_depth,
                max_json_nodes=s.inline_max_json_nodes,
                max_params_chars=s.inline_max_params_chars,
                max_formula_chars=s.inline_max_formula_chars,
            ),
        )
        self.cache_defaults = CacheDefaults(
            dir=s.cache_dir,
            url=s.cache_url,
            ttl_s=s.cache_ttl_s,
            max_rows=s.cache_max_rows,
            max_bytes=s.cache_max_bytes,
        )
        configure_cache(self.cache_defaults)
        self._ledger: Ledger | None = None
        configure_regex(
            RegexLimits(
                max_pattern_chars=s.regex_max_pattern_chars,
                max_mem_bytes=s.regex_max_mem_bytes,
                cache_bytes=s.regex_cache_bytes,
            )
        )
        self.ready = False
        self.draining = False
        self.in_flight = 0
        self.pending_items = 0
        self.health = HealthMonitor(size=s.health_window)
        self.audits = Audits(s.audit_per_minute)
        self.auditor = JudgeAuditor(self.audits)
        self._unregister = register_gauges(self._gauges)

    def _gauges(self) -> Iterator[tuple[str, dict[str, str], float]]:
        yield "rewardgym_pending_items", {}, float(self.pending_items)
        yield "rewardgym_in_flight_requests", {}, float(self.in_flight)
        yield from self.health.gauges()
        yield from self.audits.gauges()

    @contextmanager
    def _admit(self, n_items: int) -> Iterator[None]:
        """Count a call's items as pending; refuse it when that would go over
        ``max_pending_items`` (a call is always admitted when nothing else is pending)."""
        limit = self.settings.max_pending_items
        if self.draining or (self.pending_items and self.pending_items + n_items > limit):
            REJECTED.labels("overloaded").inc()
            retry = self.settings.retry_after_s
            if self.draining:
                raise OverloadedError(
                    "the server is shutting down; send this to another replica",
                    retry_after_s=retry,
                )
            raise OverloadedError(
                f"{self.pending_items} items are already being scored and this call adds "
                f"{n_items}, over the limit of {limit} (REWARDGYM_MAX_PENDING_ITEMS); "
                f"retry after {retry:g} s",
                retry_after_s=retry,
                pending_items=self.pending_items,
                max_pending_items=limit,
            )
        self.pending_items += n_items
        self.in_flight += 1
        try:
            yield
        finally:
            self.pending_items -= n_items
            self.in_flight -= 1

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> RewardService:
        """Build the registry from the configured YAML (or the built-in default config)."""
        settings = settings or Settings()
        config = load_reward_config(settings.config)
        registry = RewardRegistry(
            config.rewards, max_inline=settings.max_inline_specs, backends=config.backends
        )
        return cls(registry, settings)

    @classmethod
    @asynccontextmanager
    async def running(cls, settings: Settings | None = None) -> AsyncIterator[RewardService]:
        """A service for in-process use (the CLI, the trainers): built from the settings and
        closed (pools, models, clients) when the block ends.

        ``async with RewardService.running(Settings(config=path)) as service: ...``
        """
        service = cls.from_settings(settings)
        try:
            yield service
        finally:
            await service.aclose()

    async def start(self) -> None:
        """Warm every named reward (worker pools, models); then the service is ready."""
        started = time.perf_counter()
        # Every reward type's module now, off the loop: a caller's first inline spec of a type
        # must not stall every other request while its module (and openai's) imports.
        await asyncio.to_thread(_import_reward_types)
        # The rule workers too: the first large rule batch must not wait for their start.
        await start_shared()
        named = [self.registry.get(n) for n in self.registry.names()]
        await asyncio.gather(*(reward.start() for reward in named))
        for reward in named:
            reward.warm = True
        # What start-up built lives as long as the server: out of the collector's way, so a
        # full collection during a large batch walks only what requests made.
        gc.freeze()
        self.ready = True
        log.info("rewards warm in %.2f s", time.perf_counter() - started)

    def drain(self) -> None:
        """Stop taking new calls (503, not ready) while those in flight finish."""
        self.draining = True
        self.ready = False

    @property
    def ledger(self) -> Ledger:
        """The reward ledger (opened on first use): the store ``REWARDGYM_CACHE_URL`` names,
        else ``ledger.sqlite`` under ``REWARDGYM_CACHE_DIR``."""
        if self._ledger is None:
            location = ledger_location(
                True, self.cache_defaults
            )  # this service's, not the last one's
            records = open_records(location, self.cache_defaults.retention())
            self._ledger = Ledger(records, self.settings.ledger_max_entry_bytes)
        return self._ledger

    async def _record(
        self, reward: Reward, items: Sequence[Any], results: list[Result], show: bool
    ) -> None:
        """Record ``results`` in the ledger; with ``show``, each gets its address. A ledger
        that fails costs the addresses (logged, counted), never the results."""
        try:
            addresses = await self.ledger.record(
                reward.name, reward.implementation(), items, results
            )
        except Exception as exc:
            LEDGER_WRITES.labels("error").inc(len(results))
            log.warning(
                "ledger write failed (%s: %s); results sent unrecorded", type(exc).__name__, exc
            )
            return
        LEDGER_WRITES.labels("ok").inc(len(results))
        if show:
            for result, address in zip(results, addresses, strict=True):
                if address is not None:
                    result.__dict__["address"] = address
                    result.__pydantic_fields_set__.add("address")

    async def lookup(self, address: str) -> LedgerEntry:
        """The ledger's entry at ``address`` (404 when it holds none)."""
        if not _ADDRESS.fullmatch(address):
            raise InvalidRequestError(
                f"{address[:80]!r} is not a ledger address (64 lowercase hex digits)"
            )
        try:
            entry = await self.ledger.lookup(address)
        except Exception as exc:  # the store is down, slow or damaged: said, not shown
            log.warning("ledger lookup failed: %s: %s", type(exc).__name__, exc)
            raise UnavailableError(
                "the reward ledger's store cannot be read now; retry later",
                retry_after_s=self.settings.retry_after_s,
            ) from None
        if entry is None:
            raise NotFoundError(
                f"the ledger holds no result at {address!r} (never recorded, or past the "
                "retention: REWARDGYM_CACHE_TTL_S, REWARDGYM_CACHE_MAX_ROWS)",
                address=address,
            )
        return entry

    async def aclose(self) -> None:
        """Release every reward's resources."""
        self.ready = False
        self._unregister()
        if self._ledger is not None:
            await self._ledger.aclose()
        await self.audits.aclose()
        for reward in self.registry.all_rewards():
            await reward.aclose()
        await close_shared()

    def caller(self, key_id: str | None) -> Caller:
        """The caller an API key (or none) makes: trusted when the operator marked the key so,
        or when inline specs are ``any``."""
        trusted = self.inline_policy.mode == "any" or (
            key_id is not None and key_id in self.trusted_key_ids
        )
        return Caller(trusted=trusted, key_id=key_id)

    def resolve(self, ref: str | RewardSpec, caller: Caller) -> Reward:
        """A named reward, or an inline spec the caller may send (403/422 otherwise)."""
        if isinstance(ref, RewardSpec):
            check_inline(ref, caller, self.inline_policy)
        return self.registry.resolve(ref)

    async def _resolve_warm(self, ref: str | RewardSpec, caller: Caller) -> Reward:
        """``resolve``, and an inline reward built just now is warmed (imports, sandbox probe)
        off the event loop before it scores, as named ones are at start."""
        reward = self.resolve(ref, caller)
        if not reward.warm:
            await reward.start()
            reward.warm = True
        return reward

    def list_rewards(self) -> list[RewardInfo]:
        return [self.registry.info(name) for name in self.registry.names()]

    def reward_info(self, name: str) -> RewardInfo:
        return self.registry.info(name)

    def _prepare(self, n_items: int, options: ScoreOptions) -> ScoreContext:
        limit = self.settings.max_items
        if n_items > limit:
            raise PayloadTooLargeError(
                f"{n_items} items in one request; at most {limit} are allowed "
                "(split the batch, or raise REWARDGYM_MAX_ITEMS)",
                items=n_items,
                max_items=limit,
            )
        # A caller may shorten the server's deadline, never lengthen it.
        deadline_s = min(options.deadline_s or math.inf, self.settings.request_deadline_s)
        return ScoreContext(
            deadline=time.monotonic() + deadline_s,
            worker_timeout_s=self.settings.rule_batch_timeout_s,
        )

    def reward_health(self) -> list[dict[str, Any]]:
        """``HealthMonitor.summaries``, each LLM judge's whole window with what its audits
        found (``Audits.report``: ``canary_pass_rate`` and ``canaries``,
        ``rejudge_agreement`` and ``rejudged``, ``shadow_disagreement`` and ``shadowed``),
        each once it has had any."""
        found = self.audits.report()
        windows = self.health.summaries(also=found)
        for window in windows:
            if window["source"] == "*" and window["reward"] in found:
                window |= found[window["reward"]]
        return windows

    def on_error_policy(
        self, ref: str | RewardSpec, options: ScoreOptions, caller: Caller = OPERATOR
    ) -> OnError:
        """What a failed item of a request with ``options`` becomes (``_policy``)."""
        return self._policy(self.resolve(ref, caller), options)

    def _policy(self, reward: Reward, options: ScoreOptions) -> OnError:
        """The request's policy, else the reward's own, else ``"null"``."""
        if options.on_error is not None:
            return options.on_error
        return reward.spec.on_error if reward.spec.on_error is not None else "null"

    async def score(self, request: ScoreRequest, caller: Caller = OPERATOR) -> ScoreResponse:
        """One Result per item, in order. ``caller``: who sent it (the fronts pass the API
        caller; in-process use is the operator's own)."""
        ctx = self._prepare(len(request.items), request.options)
        reward = await self._resolve_warm(request.reward, caller)
        started = time.perf_counter()
        with self._admit(len(request.items)):
            results = await reward.score(request.items, ctx)
        if len(results) != len(request.items):
            raise RewardGymError(
                f"reward {reward.name!r} returned {len(results)} results "
                f"for {len(request.items)} items (a bug in that reward type)"
            )
        self._count(reward.label, "score", results, started)
        self.health.observe(reward.label, request.items, results)
        if request.options.ledger or self.settings.ledger_record == "all":
            await self._record(reward, request.items, results, request.options.ledger)
        self.auditor.after_score(reward, request.items, results)
        results = apply_on_error(results, self._policy(reward, request.options))
        return ScoreResponse(reward=reward.name, results=results)

    @staticmethod
    def _count(reward: str, kind: str, results: Sequence[Result], started: float) -> None:
        REQUESTS.labels(reward, kind).inc()
        REQUEST_SECONDS.labels(reward, kind).observe(time.perf_counter() - started)
        failed = sum(r.error is not None for r in results)
        if failed:
            ITEMS.labels(reward, "error").inc(failed)
        if len(results) > failed:
            ITEMS.labels(reward, "ok").inc(len(results) - failed)

    async def compare(self, request: CompareRequest, caller: Caller = OPERATOR) -> ScoreResponse:
        """Rank the responses of each item (preference rewards only)."""
        ctx = self._prepare(len(request.items), request.options)
        reward = await self._resolve_warm(request.reward, caller)
        started = time.perf_counter()
        # Judges' backends read the time left (as Reward.score sets it for score).
        with self._admit(len(request.items)), deadline_scope(ctx.deadline):
            results = await reward.compare(request.items, ctx)
        for result in results:
            reward.stamp(result)
        self._count(reward.label, "compare", results, started)
        self.health.observe_preferences(reward.label, results)
        self.auditor.after_compare(reward, request.items, results)
        if request.options.ledger or self.settings.ledger_record == "all":
            await self._record(reward, request.items, results, request.options.ledger)
        results = apply_on_error(results, self._policy(reward, request.options))
        return ScoreResponse(reward=reward.name, results=results)
