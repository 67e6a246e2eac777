"""Read a judge's verdict: JSON, "Score: N" text, or the score distribution in log-probabilities."""

from __future__ import annotations

import json
import math
import re

from rewardgym.judges.backends.base import TokenAlternatives

__all__ = [
    "VerdictError",
    "choice_probabilities",
    "expected_score",
    "neutralise",
    "parse_json_score",
    "parse_label",
    "parse_score_list",
    "parse_step_labels",
    "parse_text_score",
    "parse_yes_no",
]

# "Score: 7" or "Score: 7/10" (the scale must be the rubric's); never "subscore", "1e1", "7.5.1"
_SCORE_LINE = re.compile(
    r"\bscore\**\s*[:=]\s*\**\s*(-?\d+(?:\.\d+)?)(?:\s*/\s*(\d+))?(?!\w|\.\d)",
    re.IGNORECASE,
)
_NUMBER_ONLY = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*$")
_MARKER = re.compile(
    r"\[(\s*)(BEGIN|END)(\s+)(QUESTION|REFERENCE|RESPONSE|ANSWER|STEP)", re.IGNORECASE
)
_LABEL = re.compile(r"\[\[\s*([A-Z])\s*\]\]")
_VERDICT_LINE = re.compile(r"\bverdict\**\s*[:=]\s*\**\s*(yes|no)\b", re.IGNORECASE)
_SCORES_LINE = re.compile(r"\bscores\**\s*[:=]\s*\**\s*\[?([-\d., \t]+)\]?", re.IGNORECASE)
_STEP_LINE = re.compile(r"\bstep\s*(\d+)\s*[:=-]\s*\**\s*(correct|incorrect)\b", re.IGNORECASE)


class VerdictError(ValueError):
    """The judge's answer holds no readable score in range."""


# Invisible characters a look-alike can hide behind, and full-width forms of the ASCII that
# markers and control tokens are made of (NFKC would map them; tokenizers may, too).
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_FULL_WIDTH = str.maketrans(
    {chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)}  # full-width ASCII
    | {"\ufe64": "<", "\ufe65": ">", "\ufe5d": "[", "\ufe5e": "]"}  # small forms
)
# Chat-template control tokens of the common families: ChatML / Qwen / Phi (<|im_start|>,
# <|im_end|>, <|endoftext|>, <|user|>...), Llama 3 (<|start_header_id|>, <|eot_id|>...),
# DeepSeek (<\uff5cUser\uff5c>, after the full-width map), Gemma (<start_of_turn>, <end_of_turn>,
# <bos>, <eos>), Llama 2 / Mistral ([INST], [/INST], <<SYS>>, <s>, </s>, [SYSTEM_PROMPT],
# [TOOL_CALLS] ...), Qwen 3 (<think>, <tool_call>...), GLM (<sop>, [gMASK]), Baichuan
# (<reserved_106>), Seed (<seed:bos>).
_CONTROL = re.compile(
    r"<\|[^|<>\n]{1,64}\|>"
    r"|</?(?:s|bos|eos|pad|unk|start_of_turn|end_of_turn|start_of_image|end_of_image)>"
    r"|<</?SYS>>"
    r"|\[/?(?:INST|SYSTEM_PROMPT|AVAILABLE_TOOLS|TOOL_CALLS|TOOL_RESULTS|TOOL_CONTENT|THINK)\]"
    r"|</?(?:think|tool_call|tool_response|sop|eop|reserved_\d{1,4}|seed:[a-z_]{1,32})>"
    r"|\[[gs]?MASK\]",
    re.IGNORECASE,
)


def _defuse_control(match: re.Match[str]) -> str:
    token = match.group(0)
    return f"{token[0]} {token[1:-1]} {token[-1]}"  # <|im_end|> -> < |im_end| >: plain text


def neutralise(text: str) -> str:
    """Defuse, inside judged text, look-alikes of the template's data markers and the chat
    templates' control tokens, so that judged text cannot close its turn, open a system or
    assistant turn, or end its data block (also through invisible or full-width look-alikes)."""
    text = text.translate(_INVISIBLE).translate(_FULL_WIDTH)
    text = _CONTROL.sub(_defuse_control, text)
    return _MARKER.sub(lambda m: f"({m.group(2)} {m.group(4)})", text)


def _in_range(value: float, lo: int, hi: int) -> float:
    if not math.isfinite(value) or not lo <= value <= hi:
        raise VerdictError(f"score {value} is outside {lo}..{hi}")
    return value


def parse_json_score(text: str, lo: int, hi: int) -> tuple[float, str | None]:
    """``{"critique": ..., "score": N}`` (the first JSON object in the text)."""
    data = _json_object(text)
    if "score" not in data:
        raise VerdictError("verdict JSON has no score")
    raw = data["score"]
    if isinstance(raw, bool) or not isinstance(raw, int | float):  # not "7", not true
        raise VerdictError(f"score {raw!r} is not a JSON number")
    critique = data.get("critique")
    return _in_range(float(raw), lo, hi), str(critique) if critique is not None else None


def parse_text_score(text: str, lo: int, hi: int) -> tuple[float, str | None]:
    """The one "Score: N" line, or a verdict that is a bare number; the rest is the critique.
    Two "Score:" lines are no verdict (one may quote the judged text)."""
    matches = list(_SCORE_LINE.finditer(text))
    if len(matches) > 1:
        raise VerdictError(f"{len(matches)} 'Score:' lines in the verdict; exactly one is read")
    if matches:
        last = matches[-1]
        if last.group(2) is not None and int(last.group(2)) != hi:
            raise VerdictError(f"a score out of {last.group(2)}; the scale is {lo}..{hi}")
        critique = text[: last.start()].strip() or None
        return _in_range(float(last.group(1)), lo, hi), critique
    bare = _NUMBER_ONLY.match(text)
    if bare:
        return _in_range(float(bare.group(1)), lo, hi), None
    raise VerdictError("no 'Score: N' in the verdict")


def expected_score(
    alternatives: TokenAlternatives, lo: int, hi: int
) -> tuple[float, dict[int, float]]:
    """G-Eval: sum of p(s) * s over the score tokens among the top alternatives of the first
    generated token, with p renormalised over those tokens. Returns (expectation, p per score).

    Scores that are not a single token (10 on some tokenizers) can only enter through a token
    that spells them whole.
    """
    weights: dict[int, float] = {}
    for token, logprob in alternatives:
        stripped = token.strip()
        if stripped.isascii() and stripped.lstrip("-").isdigit():  # not "²": int() refuses it
            score = int(stripped)
            if lo <= score <= hi and math.isfinite(logprob):
                weights[score] = weights.get(score, 0.0) + math.exp(logprob)
    total = sum(weights.values())
    if total <= 0:
        raise VerdictError("no score token among the top log-probabilities")
    probs = {s: w / total for s, w in sorted(weights.items())}
    return sum(s * p for s, p in probs.items()), probs


def parse_label(text: str, labels: tuple[str, ...]) -> str:
    """The one ``[[X]]`` verdict, or a verdict that is the bare label."""
    found = [m.group(1) for m in _LABEL.finditer(text) if m.group(1) in labels]
    if len(set(found)) > 1:
        raise VerdictError(f"verdicts {sorted(set(found))} in one reply; exactly one is read")
    if found:
        return found[-1]
    bare = text.strip().strip(".").upper()
    if bare in labels:
        return bare
    raise VerdictError(f"no verdict among {['[[' + x + ']]' for x in labels]}")


def choice_probabilities(
    alternatives: TokenAlternatives, labels: tuple[str, ...]
) -> dict[str, float]:
    """p(label) from the first token's top alternatives, renormalised over the labels.

    Matching ignores case and surrounding space; a token that is the start of exactly one label
    ("Y" for "Yes") counts for it, as tokenizers split words differently.
    """
    weights = dict.fromkeys(labels, 0.0)
    upper = {label.upper(): label for label in labels}
    for token, logprob in alternatives:
        text = token.strip().upper()
        if not text or not math.isfinite(logprob):
            continue
        label = upper.get(text)
        if label is None:
            starts = [lab for up, lab in upper.items() if up.startswith(text)]
            label = starts[0] if len(starts) == 1 else None
        if label is not None:
            weights[label] += math.exp(logprob)
    total = sum(weights.values())
    if total <= 0:
        raise VerdictError(f"none of {list(labels)} among the top log-probabilities")
    return {label: w / total for label, w in weights.items()}


def _json_object(text: str) -> dict[str, object]:
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise VerdictError("no JSON object in the verdict")
    try:
        data = json.loads(text[start : end + 1], object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise VerdictError(f"verdict is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise VerdictError("verdict JSON is not an object")
    return data


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object whose keys are unique: ``{"score": 1, "score": 10}`` is no verdict."""
    data = dict(pairs)
    if len(data) != len(pairs):
        raise VerdictError("a key appears twice in the verdict JSON")
    return data


def parse_yes_no(text: str) -> bool:
    """The one "Verdict: Yes|No" line, or a verdict that is a bare yes or no."""
    matches = list(_VERDICT_LINE.finditer(text))
    if len({m.group(1).lower() for m in matches}) > 1:
        raise VerdictError("both 'Verdict: Yes' and 'Verdict: No' in one reply")
    if matches:
        return matches[-1].group(1).lower() == "yes"
    bare = text.strip().strip(".!").lower()
    if bare in ("yes", "no"):
        return bare == "yes"
    raise VerdictError("no 'Verdict: Yes' or 'Verdict: No' in the verdict")


def parse_score_list(text: str, n: int, lo: int, hi: int) -> list[float]:
    """``{"scores": [...]}`` or a last line "Scores: 7, 3, 9": exactly ``n`` scores in range."""
    values: list[object]
    if "{" in text:
        data = _json_object(text)
        raw = data.get("scores")
        if not isinstance(raw, list):
            raise VerdictError("verdict JSON has no list of scores")
        if not all(type(v) in (int, float) for v in raw):  # not true, not "7"
            raise VerdictError(f"the scores {raw!r} are not all JSON numbers")
        values = list(raw)
    else:
        matches = list(_SCORES_LINE.finditer(text))
        if not matches:
            raise VerdictError("no 'Scores: a, b, ...' in the verdict")
        if len(matches) > 1:
            raise VerdictError(f"{len(matches)} 'Scores:' lines in the verdict; one is read")
        values = [v for v in re.split(r"[,\s]+", matches[-1].group(1)) if v]
    if len(values) != n:
        raise VerdictError(f"{len(values)} scores for {n} responses")
    try:
        return [_in_range(float(v), lo, hi) for v in values]  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        if isinstance(exc, VerdictError):
            raise
        raise VerdictError(f"a score is not a number: {exc}") from exc


def parse_step_labels(text: str, n: int) -> list[bool]:
    """Whether each of ``n`` steps is correct: ``{"labels": ["correct", ...]}`` or lines
    "Step k: correct|incorrect" (k from 1) covering every step."""
    if "{" in text:
        raw = _json_object(text).get("labels")
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            raise VerdictError("verdict JSON has no list of labels")
        labels = [str(v).strip().lower() for v in raw]
        if len(labels) != n or not set(labels) <= {"correct", "incorrect"}:
            raise VerdictError(f"need {n} labels, each 'correct' or 'incorrect'; got {raw!r}")
        return [label == "correct" for label in labels]
    found: dict[int, bool] = {}
    for m in _STEP_LINE.finditer(text):
        step = int(m.group(1))
        if step in found:
            raise VerdictError(f"step {step} is labelled twice")
        found[step] = m.group(2).lower() == "correct"
    missing = [k for k in range(1, n + 1) if k not in found]
    if missing:
        raise VerdictError(f"no verdict for step(s) {missing[:5]}")
    return [found[k] for k in range(1, n + 1)]
