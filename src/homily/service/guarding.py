"""The guard stage of the request path: screen the input, then say what the service must do about it."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from homily.guard.model import GuardModel
from homily.guard.policy import GuardPolicy
from homily.guard.responses import blocked_response_message, crisis_fallback_message, crisis_guidance
from homily.guard.screen import earlier_user_turns, screen
from homily.guard.verdict import Verdict
from homily.metrics import Metrics
from homily.protocol.chat import ChatMessage
from homily.routing.decision import QueryEmbedding

log = logging.getLogger("homily.guard")

GUARD_MODEL_ID = "homily-guard"
"""The `model` reported when Homily answers by itself (a blocked request, or a crisis with no model available)."""
LOCAL_FAMILY = "Local"


@dataclass(frozen=True, slots=True)
class GuardOutcome:
    """A verdict plus what follows from it for the pipeline."""

    verdict: Verdict

    @property
    def blocked(self) -> bool:
        return self.verdict.action == "block"

    @property
    def crisis(self) -> bool:
        return self.verdict.action == "crisis"

    def wire(self) -> dict[str, Any] | None:
        """The response's `guardrail` object (API.md section 8), or None when nothing fired."""
        if self.verdict.action == "allow":
            return None
        return {"action": self.verdict.wire_action, "categories": list(self.verdict.categories)}

    def decline(self) -> str:
        return blocked_response_message(self.verdict.categories)

    @staticmethod
    def crisis_fallback() -> str:
        return crisis_fallback_message()


class GuardStage:
    """Screens each request with the shipped classifier under the operator's policy; counts and logs verdicts."""

    def __init__(self, model: GuardModel, policy: GuardPolicy, metrics: Metrics) -> None:
        self._model = model
        self._policy = policy
        self._metrics = metrics
        self._crisis_message = ChatMessage(role="system", content=crisis_guidance())
        metrics.describe("homily_guard_verdicts_total", "Guard verdicts that were not 'allow', by action and category")

    @property
    def enabled(self) -> bool:
        return self._policy.enabled

    @property
    def crisis_message(self) -> ChatMessage:
        return self._crisis_message

    def earlier_turns(self, messages: list[ChatMessage]) -> list[str]:
        """The earlier user turns this policy screens besides the latest (their embeddings help `check`)."""
        return earlier_user_turns(messages, self._policy)

    def check(
        self,
        messages: list[ChatMessage],
        embedding: QueryEmbedding | None,
        request_id: str,
        earlier_embeddings: Mapping[str, QueryEmbedding] | None = None,
    ) -> GuardOutcome:
        verdict = screen(messages, embedding, self._policy, self._model, earlier_embeddings)
        if verdict.action != "allow":
            for category in verdict.categories:
                labels = (("action", verdict.action), ("category", category))
                self._metrics.inc("homily_guard_verdicts_total", labels)
            log.info(
                "guard verdict",
                extra={
                    "request_id": request_id,
                    "action": verdict.action,
                    "categories": verdict.categories,
                    "scores": {c: round(verdict.scores[c], 3) for c in verdict.categories},
                },
            )
        return GuardOutcome(verdict)
