"""`screen`: the guard's single entry point on the request path. Pure and fast (no I/O, no model call).

What is screened, and why:
- the latest user turn, with the shared query embedding (the full classifier) or, if none is given, with the
  lexical-only classifier;
- up to `policy.screen_history_turns` earlier user turns (an attack or a cry for help two turns back still
  matters), each with its own embedding when the caller has one (`earlier_embeddings`, keyed by the turn's text;
  see `earlier_user_turns`), else lexical-only;
- tool results (`role="tool"`), scanned like retrieved passages for planted instructions: they can only
  *flag* `prompt_injection` (the user did not write them, so refusing the user would be wrong; the caller
  fences them with `fence_passage`).
System, developer and assistant messages are not screened: the operator writes the first two, and the
assistant turns are model output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from homily.guard.categories import CATEGORIES, Category
from homily.guard.features import lexical_features
from homily.guard.model import EMBEDDING_DIMENSION, FloatArray, GuardModel, default_guard_model
from homily.guard.passage import scan_passage
from homily.guard.policy import GuardPolicy
from homily.guard.verdict import Action, Verdict
from homily.protocol.chat import ChatMessage

_ACTION_RANK: dict[Action, int] = {"allow": 0, "flag": 1, "block": 2, "crisis": 3}


def _as_embedding(query_embedding: np.ndarray | None) -> FloatArray | None:
    if query_embedding is None:
        return None
    vector = np.asarray(query_embedding, dtype=np.float32).reshape(-1)
    if vector.shape[0] != EMBEDDING_DIMENSION:
        raise ValueError(f"query embedding must have {EMBEDDING_DIMENSION} values, got {vector.shape[0]}")
    return vector


def _threshold(policy: GuardPolicy, defaults: dict[Category, float], category: Category) -> float:
    configured = policy.rule(category).threshold
    return defaults[category] if configured is None else configured


def _screened_turns(messages: Sequence[ChatMessage], policy: GuardPolicy) -> tuple[list[ChatMessage], bool]:
    """The user turns screened, latest first, and whether the first of them is the request's very last user turn
    (the one the query embedding belongs to; a blank last turn carries nothing to screen and is skipped)."""
    user_turns = [message for message in messages if message.role == "user"]
    worded = [message for message in user_turns if message.text().strip()]
    screened = worded[-(policy.screen_history_turns + 1) :]
    last_is_worded = bool(user_turns) and bool(user_turns[-1].text().strip())
    return list(reversed(screened)), last_is_worded


def earlier_user_turns(messages: Sequence[ChatMessage], policy: GuardPolicy) -> list[str]:
    """The texts of the earlier user turns `screen` looks at (for the caller to embed them), most recent first."""
    if not policy.enabled:
        return []
    turns, first_is_latest = _screened_turns(messages, policy)
    return [message.text() for message in turns[1 if first_is_latest else 0 :]]


def screen(
    messages: Sequence[ChatMessage],
    query_embedding: np.ndarray | None,
    policy: GuardPolicy,
    model: GuardModel | None = None,
    earlier_embeddings: Mapping[str, np.ndarray] | None = None,
) -> Verdict:
    """Screen a request's messages. `query_embedding` is the embedding of the latest user turn, or None;
    `earlier_embeddings` holds those of earlier user turns the caller has, keyed by their text."""
    scores: dict[Category, float] = dict.fromkeys(CATEGORIES, 0.0)
    if not policy.enabled:
        return Verdict(action="allow", categories=[], scores=scores)
    guard_model = model or default_guard_model()
    fired: dict[Category, Action] = {}
    signals: list[str] = []

    turns, first_is_latest = _screened_turns(messages, policy)
    for position, message in enumerate(turns):
        latest = position == 0
        text = message.text()
        if latest and first_is_latest:
            turn_embedding = _as_embedding(query_embedding)
        else:
            turn_embedding = _as_embedding((earlier_embeddings or {}).get(text))
        features = lexical_features(text)
        turn_scores = guard_model.category_scores(features, turn_embedding)
        defaults = guard_model.default_thresholds(with_embedding=turn_embedding is not None)
        label = "latest user turn" if latest else f"user turn -{position}"
        signals.extend(f"{label}: {name}" for name in features.fired_signals())
        for category, score in turn_scores.items():
            scores[category] = max(scores[category], score)
            mode = policy.rule(category).mode
            if mode == "off" or score < _threshold(policy, defaults, category):
                continue
            action: Action = mode
            if category == "self_harm" and mode == "block":
                action = "crisis"
            if _ACTION_RANK[action] > _ACTION_RANK[fired.get(category, "allow")]:
                fired[category] = action

    if policy.screen_tool_results and policy.rule("prompt_injection").mode != "off":
        for message in messages:
            if message.role != "tool":
                continue
            passage = scan_passage(message.text(), guard_model)
            scores["prompt_injection"] = max(scores["prompt_injection"], passage.score)
            if passage.injected:
                signals.append(f"tool result: planted instruction: {passage.sentence[:80]!r}")
                fired.setdefault("prompt_injection", "flag")

    overall: Action = "allow"
    for category_action in fired.values():
        if _ACTION_RANK[category_action] > _ACTION_RANK[overall]:
            overall = category_action
    ordered = sorted(fired, key=lambda category: scores[category], reverse=True)
    return Verdict(action=overall, categories=ordered, scores=scores, signals=signals)
