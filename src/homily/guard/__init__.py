"""Input guardrails (API.md section 8): screen requests before any model sees them.

Public surface: `screen`, `Verdict`, `GuardPolicy`, `scan_passage`/`fence_passage`, and the gateway's own
words (`blocked_response_message`, `crisis_guidance`, `crisis_fallback_message`).
"""

from homily.guard.categories import CATEGORIES, Category
from homily.guard.model import GuardModel, default_guard_model, load_guard_model
from homily.guard.passage import PassageVerdict, fence_passage, scan_passage
from homily.guard.policy import CategoryRule, GuardPolicy
from homily.guard.responses import blocked_response_message, crisis_fallback_message, crisis_guidance
from homily.guard.screen import screen
from homily.guard.verdict import Verdict

__all__ = [
    "CATEGORIES",
    "Category",
    "CategoryRule",
    "GuardModel",
    "GuardPolicy",
    "PassageVerdict",
    "Verdict",
    "blocked_response_message",
    "crisis_fallback_message",
    "crisis_guidance",
    "default_guard_model",
    "fence_passage",
    "load_guard_model",
    "scan_passage",
    "screen",
]
