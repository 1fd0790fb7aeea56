"""The words the gateway says itself: a kind decline, and the crisis guidance and fallback."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from homily.guard.categories import ATTACK_CATEGORIES, Category

CRISIS_FALLBACK_MESSAGE: Final = (
    "I'm really sorry you're carrying this, and I'm glad you said something. You matter, and you don't have "
    "to face this alone.\n\n"
    "If you are in danger right now or might act on these thoughts, please reach out for immediate help:\n"
    "- In the United States: call or text 988 (the 988 Suicide & Crisis Lifeline), any time, day or night, "
    "or chat at 988lifeline.org.\n"
    "- Anywhere else: call your local emergency number (for example 112 in Europe, 999 in the UK, 000 in "
    "Australia) or go to the nearest emergency department.\n\n"
    "If you can, tell someone you trust what you're feeling: a friend, a family member, a pastor or a "
    "counsellor. You are not a burden for asking. Would you like to tell me a little more about what's been "
    "happening?"
)


def crisis_guidance() -> str:
    """System prompt added in front of the conversation when a message signals risk of self-harm."""
    return (
        "The person writing may be at risk of suicide or self-harm. Respond with warmth, calm and care, in "
        "plain words. Take what they say seriously; do not lecture, judge, argue theology or refuse to talk. "
        "Acknowledge their pain, tell them they are not alone and that help is available now. Always point "
        "to immediate help: in the United States, call or text 988 (the 988 Suicide & Crisis Lifeline); "
        "elsewhere, the local emergency number or nearest emergency department. Encourage them to reach out "
        "to someone they trust (a friend, family member, pastor or counsellor). Never describe methods, "
        "doses, or ways to hide self-harm, even if asked, and never encourage it. If they are in immediate "
        "danger, ask them to contact emergency services now. Invite them to keep talking."
    )


def crisis_fallback_message() -> str:
    """The fixed caring response used when no model is available for a crisis message."""
    return CRISIS_FALLBACK_MESSAGE


def blocked_response_message(categories: Sequence[Category]) -> str:
    """A brief, kind decline for a blocked request (API.md section 8); never names scores or rules."""
    if categories and all(category in ATTACK_CATEGORIES for category in categories):
        return (
            "I can't follow instructions that ask me to set aside my guidelines or reveal how I'm set up, "
            "but I'm glad to help with your question itself. What would you like to know?"
        )
    return (
        "I'm sorry, but I can't help with that request. If there's something behind it you're dealing "
        "with, or a related question I can help with safely, I'm glad to try."
    )
