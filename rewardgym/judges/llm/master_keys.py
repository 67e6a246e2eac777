"""Responses with nothing to judge: the "master keys" that fool LLM judges.

A reply of a lone ":" or of a bare reasoning opener such as "Thought process:" is judged
correct by many LLM judges and generative verifiers, large ones included (Zhao et al. 2025,
"One Token to Fool LLM-as-a-Judge"); a policy trained against such a judge finds them fast.
They carry no answer, so no judge is asked: every LLM judge gives them its lowest score
(``JudgeParams.contentless_floor``, on by default).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["OPENERS", "is_contentless"]

# Bare openers, as words (case-folded, punctuation dropped): the master keys of Zhao et al.
# (2025, table 1) and the common openers of reasoning models, in the languages they list.
OPENERS = frozenset(
    {
        "thought process",
        "thoughts",
        "thinking",
        "reasoning",
        "let s think step by step",
        "let s solve this problem step by step",
        "let s solve this step by step",
        "let me think",
        "let me solve this",
        "step by step",
        "step 1",
        "solution",
        "answer",
        "final answer",
        "the answer is",
        "the final answer is",
        "response",
        "sure",
        "okay",
        "ok",
        "of course",
        "certainly",
        "here is the answer",
        "here s the answer",
        "解",
        "解答",
        "思路",
        "答案",
        "かいせつ",
        "解説",
        "respuesta",
        "solución",
        "réponse",
        "lösung",
        "ответ",
        "решение",
    }
)
_MAX_OPENER_WORDS = max(len(opener.split()) for opener in OPENERS)
_WORDS = re.compile(r"\w+")
_TAG = re.compile(r"</?\w+\s*/?>")  # markup alone (<think></think>) says nothing


def is_contentless(text: str) -> bool:
    """True when ``text`` has no word at all (empty, blank, punctuation or symbols only) or is
    only a bare opener (``OPENERS``), in any case, width and with any punctuation or tags around."""
    folded = _TAG.sub(" ", unicodedata.normalize("NFKC", text)).casefold()
    words = []
    for match in _WORDS.finditer(folded.replace("_", " ")):
        words.append(match.group())
        if len(words) > _MAX_OPENER_WORDS:  # longer than any opener: there is content
            return False
    return not words or " ".join(words) in OPENERS
