"""Any rewardgym environment served over OpenEnv's protocol (openenv-core's ``create_app``:
HTTP reset/step/state and WebSocket sessions, one environment per session).

- action: ``TextAction(text=...)`` — the policy's text, as ``env.step(text)`` takes it;
- observation: ``TextObservation``: ``text`` (what the policy sees next), ``messages`` (the chat
  so far), ``result`` (the rewardgym Result of the step, with its error when the reward failed),
  ``stop``, ``terminated``, ``truncated``, ``task``; OpenEnv's own ``reward`` and ``done``
  carry the step reward (None when the reward failed: never a silent 0) and the episode's end;
- reset: ``reset(task={...})`` (a task row), ``reset(index=N)`` or ``reset(seed=N)``; the same
  task always gives the same start state;
- a step after the episode ended is an error saying so; beyond ``max_sessions`` concurrent
  sessions a new client gets OpenEnv's capacity error at once;
- a session's reset and steps run on the server's event loop (OpenEnv's ``reset_async`` and
  ``step_async``), scored by one async scorer the app starts with it (a ``RewardService`` on
  that loop, or the reward server at ``url``): no thread hop per step.

``RewardgymEnvClient`` is OpenEnv's ``EnvClient`` for it. Needs the ``openenv`` extra.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from typing import Any

import gymnasium as gym
from openenv.core import Action, EnvClient, Environment, Observation, State
from openenv.core.client_types import StepResult
from pydantic import Field

import rewardgym.envs
from rewardgym.asgi import send_json
from rewardgym.envs.base import TextEnv
from rewardgym.scoring import AsyncScorer, make_async_scorer, make_scorer

__all__ = [
    "AppScoring",
    "RewardgymEnvClient",
    "RewardgymEnvironment",
    "RewardgymState",
    "TextAction",
    "TextObservation",
    "create_openenv_app",
]


class TextAction(Action):
    """The policy's text for one step."""

    text: str = Field(description="the action: an answer, a reasoning step, or a reply")


class TextObservation(Observation):
    """What the policy sees after reset or a step, with the step's rewardgym Result."""

    text: str = ""
    messages: list[dict[str, str]] = Field(default_factory=list)
    result: dict[str, Any] | None = None
    stop: str | None = None
    terminated: bool = False
    truncated: bool = False
    task: dict[str, Any] = Field(default_factory=dict)


class RewardgymState(State):
    """The episode's place: environment id, rewards so far, why it stopped."""

    env_id: str = ""
    rewards: list[float | None] = Field(default_factory=list)
    stop: str | None = None
    done: bool = True


def _reward(value: float) -> float | None:
    """An env's reward in OpenEnv's field: a failed reward (NaN under ``on_error: null``) is
    None there, as TRL reads it."""
    return None if math.isnan(value) else float(value)


class AppScoring:
    """The scorer an app's sessions share, started on the server's loop with the app and
    closed with it (``None`` until started: sessions then step through the env's own)."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self.scorer: AsyncScorer | None = None

    async def start(self) -> None:
        self.scorer = await make_async_scorer(self.url)

    async def aclose(self) -> None:
        scorer, self.scorer = self.scorer, None
        if scorer is not None:
            await scorer.aclose()


class RewardgymEnvironment(Environment[TextAction, TextObservation, RewardgymState]):
    """One rewardgym environment behind OpenEnv's server interface (one per session).

    Args:
        env_id: a registered rewardgym environment id.
        env_kwargs: its keyword arguments.
        url: a reward server to score with (default: in process).
        scoring: the app's shared async scorer; with it, ``step_async`` scores on the
            server's loop, else steps score through the environment's own scorer.
    """

    SUPPORTS_CONCURRENT_SESSIONS = True

    def __init__(
        self,
        env_id: str,
        env_kwargs: dict[str, Any],
        url: str | None = None,
        scoring: AppScoring | None = None,
    ) -> None:
        super().__init__()
        self.env_id = env_id
        self.scoring = scoring
        env = gym.make(
            env_id,
            scorer=make_scorer(url),
            on_error="null",
            disable_env_checker=True,
            **env_kwargs,
        ).unwrapped
        if not isinstance(env, TextEnv):
            raise TypeError(f"{env_id} is not a rewardgym text environment")
        self.env = env
        self._episode_id: str | None = None
        self._steps = 0

    def reset(
        self,
        seed: int | None = None,
        episode_id: str | None = None,
        task: dict[str, Any] | None = None,
        index: int | None = None,
        **kwargs: Any,
    ) -> TextObservation:
        options: dict[str, Any] = {}
        if task is not None:
            options["task"] = task
        elif index is not None:
            options["index"] = index
        text, info = self.env.reset(seed=seed, options=options or None)
        self._episode_id = episode_id
        self._steps = 0
        return TextObservation(
            text=text, messages=info["messages"], task=info["task"], done=False, reward=None
        )

    async def reset_async(
        self,
        seed: int | None = None,
        episode_id: str | None = None,
        task: dict[str, Any] | None = None,
        index: int | None = None,
        **kwargs: Any,
    ) -> TextObservation:
        """``reset`` on the server's loop (it scores nothing)."""
        return self.reset(seed=seed, episode_id=episode_id, task=task, index=index)

    def step(
        self, action: TextAction, timeout_s: float | None = None, **kwargs: Any
    ) -> TextObservation:
        self._check_step()
        return self._observe(*self.env.step(action.text))

    async def step_async(
        self, action: TextAction, timeout_s: float | None = None, **kwargs: Any
    ) -> TextObservation:
        """``step`` scored by the app's async scorer on the server's loop."""
        scorer = self.scoring.scorer if self.scoring is not None else None
        if scorer is None:
            return await asyncio.to_thread(self.step, action)
        self._check_step()
        return self._observe(*await self.env.step_async(action.text, scorer))

    def _check_step(self) -> None:
        env = self.env
        if env.task is None:
            raise ValueError("no episode: reset first")
        if env.done:
            raise ValueError(f"the episode is over ({env.stop}); reset to start another")

    def _observe(
        self, text: str, reward: Any, terminated: bool, truncated: bool, info: dict[str, Any]
    ) -> TextObservation:
        self._steps += 1
        result = info.get("result")
        return TextObservation(
            text=text,
            messages=info["messages"],
            result=result.model_dump(mode="json") if result is not None else None,
            stop=info.get("stop"),
            terminated=terminated,
            truncated=truncated,
            task=info["task"],
            done=terminated or truncated,
            reward=_reward(float(reward)),
        )

    @property
    def state(self) -> RewardgymState:
        env = self.env
        return RewardgymState(
            episode_id=self._episode_id,
            step_count=self._steps,
            env_id=self.env_id,
            rewards=[_reward(r) for r in env.rewards],
            stop=env.stop,
            done=env.done,
        )

    def close(self) -> None:
        self.env.close()


def create_openenv_app(
    env_id: str,
    *,
    max_sessions: int = 16,
    url: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
    session_ttl_s: float = 600.0,
    session_max_age_s: float | None = None,
) -> Any:
    """OpenEnv's FastAPI app serving ``env_id``: one environment per session, at most
    ``max_sessions`` at once; a session whose client sends nothing for ``session_ttl_s``, or
    older than ``session_max_age_s`` (None: no bound), is closed and its environment
    released. An unknown id is a ValueError listing the
    registered ones."""
    from openenv.core import create_app

    if env_id not in rewardgym.envs.ENV_IDS:
        known = ", ".join(sorted(rewardgym.envs.ENV_IDS))
        raise ValueError(f"unknown environment {env_id!r}; registered: {known}")
    kwargs = dict(env_kwargs or {})
    RewardgymEnvironment(env_id, kwargs, url).close()  # bad kwargs fail here, not per session
    scoring = AppScoring(url)

    def factory() -> RewardgymEnvironment:
        return RewardgymEnvironment(env_id, kwargs, url, scoring)

    app = create_app(
        factory,
        TextAction,
        TextObservation,
        env_name=env_id.replace("/", "_"),
        max_concurrent_envs=max_sessions,
    )
    app.state.rewardgym_scoring = scoring
    app.router.on_startup.append(scoring.start)
    app.router.on_shutdown.append(scoring.aclose)
    app.add_middleware(
        _SessionFront, session_ttl_s=session_ttl_s, session_max_age_s=session_max_age_s
    )
    return app


class _SessionFront:
    """What openenv-core's app leaves rough for a stateful environment, fixed at the ASGI edge:

    - a session refused at capacity gets OpenEnv's error message, then a close with code 1013
      (try again later) whose reason says ``CAPACITY_REACHED`` and the counts, so any client
      (OpenEnv's generic one too, which often sees only the close) reads why;
    - HTTP ``POST /step`` and ``GET|POST /state`` are stateless in OpenEnv (a fresh
      environment per request, never reset), so they answer 409 saying to use a WebSocket
      session, not 500; ``POST /reset`` works (a first observation);
    - openenv-core closes a session's WebSocket again after the client closed it, which raises
      WebSocketDisconnect into uvicorn's error log for every session: that is swallowed;
    - a session idle for ``session_ttl_s`` (its client sent nothing: it hung, or forgot to
      close) ends as if the client had left, so openenv-core closes its environment and frees
      its slot; the client gets a close with code 4408 and ``SESSION_EXPIRED`` as the reason;
      so does one older than ``session_max_age_s`` (a client that keeps a slot by pinging).
    """

    def __init__(
        self, app: Any, session_ttl_s: float = 600.0, session_max_age_s: float | None = None
    ) -> None:
        self.app = app
        self.session_ttl_s = session_ttl_s
        self.session_max_age_s = session_max_age_s

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope.get("path") in ("/step", "/state"):
            await _stateless_refusal(send, scope["path"])
            return
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        from starlette.websockets import WebSocketDisconnect

        refusal: str | None = None

        async def watch(message: dict[str, Any]) -> None:
            nonlocal refusal
            if message["type"] == "websocket.send" and "CAPACITY_REACHED" in (
                message.get("text") or ""
            ):
                data = json.loads(message["text"]).get("data", {})
                refusal = (
                    f"CAPACITY_REACHED: {data.get('active_sessions')}/"
                    f"{data.get('max_sessions')} sessions in use"
                )
            if message["type"] == "websocket.close" and refusal is not None:
                message = {**message, "code": 1013, "reason": refusal[:120]}
            await send(message)

        ttl, max_age = self.session_ttl_s, self.session_max_age_s
        born: float | None = None

        async def idle_bounded() -> dict[str, Any]:
            nonlocal born
            loop = asyncio.get_running_loop()
            if born is None:  # the handshake is not a session yet
                born = loop.time()
                return dict(await receive())
            left = math.inf if max_age is None else born + max_age - loop.time()
            try:
                return dict(await asyncio.wait_for(receive(), max(0.0, min(ttl, left))))
            except TimeoutError:
                old = loop.time() - born >= (max_age or math.inf)
                reason = f"SESSION_EXPIRED: {'older than' if old else 'idle for'} " + (
                    f"{max_age:g} s" if old else f"{ttl:g} s"
                )
                with contextlib.suppress(Exception):
                    await send({"type": "websocket.close", "code": 4408, "reason": reason})
                return {"type": "websocket.disconnect", "code": 4408}

        with contextlib.suppress(WebSocketDisconnect):
            await self.app(scope, idle_bounded, watch)


async def _stateless_refusal(send: Any, path: str) -> None:
    detail = (
        f"HTTP {path} is stateless in OpenEnv (a fresh environment per request, never reset); "
        "play an episode over a WebSocket session (/ws), e.g. with OpenEnv's EnvClient or "
        "rewardgym's RewardgymEnvClient"
    )
    await send_json(send, 409, {"detail": detail})


class RewardgymEnvClient(EnvClient[TextAction, TextObservation, RewardgymState]):
    """OpenEnv's ``EnvClient`` for a rewardgym environment server.

    A server at capacity sends its error and closes the session at once; OpenEnv's client
    then fails on its next send with a bare "connection closed". This one reads the error
    the server left and raises it (``CAPACITY_REACHED`` with the session counts).
    """

    async def _send_and_receive(self, message: dict[str, Any]) -> dict[str, Any]:
        from websockets.exceptions import ConnectionClosed

        try:
            return await super()._send_and_receive(message)
        except ConnectionClosed as exc:
            left = await self._error_left_by_server()
            if left is None:
                raise
            raise RuntimeError(
                f"Server error: {left.get('message', 'closed')} (code: {left.get('code')})"
            ) from exc

    async def _error_left_by_server(self) -> dict[str, Any] | None:
        import json

        if self._ws is None:
            return None
        try:
            raw = await asyncio.wait_for(self._ws.recv(), timeout=1)
        except Exception:  # nothing was left before the close
            return None
        data = json.loads(raw)
        if isinstance(data, dict) and data.get("type") == "error":
            return dict(data.get("data", {}))
        return None

    def _step_payload(self, action: TextAction) -> dict[str, Any]:
        return {"text": action.text}

    def _parse_result(self, payload: dict[str, Any]) -> StepResult[TextObservation]:
        observation = TextObservation(
            **payload.get("observation", {}),
            reward=payload.get("reward"),
            done=payload.get("done", False),
        )
        return StepResult(
            observation=observation, reward=payload.get("reward"), done=payload.get("done", False)
        )

    def _parse_state(self, payload: dict[str, Any]) -> RewardgymState:
        return RewardgymState(**payload)
