"""``verifier``: a generative verifier. Is the response correct (given the reference)?

``score`` = p(yes). With ``verdict: logprobs`` (the default) that probability comes from the
judge's next-token distribution over Yes/No, a continuous reward from one token; with
``verdict: text`` the judge reasons first and ends with "Verdict: Yes|No" (score 1 or 0).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from rewardgym.judges.backends.base import ChatRequest, ChatResponse
from rewardgym.judges.llm._judge import JudgeParams
from rewardgym.judges.llm.parsers import (
    VerdictError,
    choice_probabilities,
    neutralise,
    parse_yes_no,
)
from rewardgym.judges.llm.single_request import SingleRequestJudge
from rewardgym.judges.texts import conversation_of, text_of
from rewardgym.schema import Basis, Format, Item, Result, Taxonomy

__all__ = ["VerifierJudge", "VerifierParams"]

TEMPLATE_VERSION = "verifier-v1"
LABELS = ("Yes", "No")
DEFAULT_CRITERIA = (
    "A response is correct when its final answer matches the reference in meaning (equivalent "
    "forms count: 0.5 = 1/2, Paris = paris); its reasoning need not be perfect."
)


class VerifierParams(JudgeParams):
    use_reference: bool = Field(default=True, description="check against item.reference")
    verdict: Literal["logprobs", "text"] = "logprobs"
    criteria: str = DEFAULT_CRITERIA


class VerifierJudge(SingleRequestJudge):
    """p(the response is correct) from an LLM judge."""

    type_id = "verifier"
    templates = "verifier"
    taxonomy = Taxonomy(basis=Basis.JUDGE, format=Format.SCALAR)
    Params = VerifierParams
    description = "LLM judge as a generative verifier: probability that the response is correct"

    def request(self, item: Item, attempt: int = 0, sample: int = 0) -> ChatRequest:
        p: VerifierParams = self.params
        reference = self.reference(item)
        verdict = "label_only" if p.verdict == "logprobs" else "text"
        system = self.system_message(
            self._system, criteria=p.criteria, verdict=verdict, reference=reference is not None
        )
        user = self.render_user(
            prompt=neutralise(conversation_of(item.prompt)),
            response=neutralise(text_of(item.response)),
            reference=reference,
        ).strip()
        logprobs = p.verdict == "logprobs"
        namespace = f"{TEMPLATE_VERSION}:{p.verdict}"
        return ChatRequest(
            messages=(("system", system), ("user", user)),
            max_tokens=2 if logprobs else p.max_tokens,
            temperature=p.temperature,
            top_logprobs=p.top_logprobs if logprobs else None,
            choices=LABELS if logprobs else None,
            seed=self.seed(sample),
            namespace=self.cache_namespace(namespace, attempt),
        )

    def _read(self, response: ChatResponse) -> Result:
        metadata: dict[str, Any] = {"verdict": response.text[:2000]}
        critique = None
        if self.params.verdict == "logprobs":
            if not response.logprobs:
                raise VerdictError("the backend returned no log-probabilities")
            probs = choice_probabilities(response.logprobs[0], LABELS)
            metadata["probabilities"] = probs
            p_yes = probs["Yes"]
        else:
            p_yes = float(parse_yes_no(response.text))
            critique = response.text.strip() or None
        return Result(score=p_yes, critique=critique, cached=response.cached, metadata=metadata)
