"""The guard's categories: what each one means and which group it belongs to."""

from __future__ import annotations

from typing import Final, Literal

Category = Literal[
    "violence_weapons",
    "self_harm",
    "sexual_minors",
    "hate_harassment",
    "dangerous_illegal",
    "jailbreak",
    "prompt_injection",
    "system_prompt_extraction",
]

CATEGORIES: Final[tuple[Category, ...]] = (
    "violence_weapons",
    "self_harm",
    "sexual_minors",
    "hate_harassment",
    "dangerous_illegal",
    "jailbreak",
    "prompt_injection",
    "system_prompt_extraction",
)
"""Fixed order: the classifier's output columns follow it, so never reorder (append only, and retrain)."""

HARM_CATEGORIES: Final[frozenset[Category]] = frozenset(
    {"violence_weapons", "self_harm", "sexual_minors", "hate_harassment", "dangerous_illegal"}
)
ATTACK_CATEGORIES: Final[frozenset[Category]] = frozenset({"jailbreak", "prompt_injection", "system_prompt_extraction"})

CATEGORY_DESCRIPTIONS: Final[dict[Category, str]] = {
    "violence_weapons": "violence against people or animals, weapons and explosives",
    "self_harm": "risk of suicide or self-harm (crisis path: answered with care, never bare refusal)",
    "sexual_minors": "sexual content involving minors, grooming",
    "hate_harassment": "hate, harassment, threats, bullying, doxxing, defamation of people",
    "dangerous_illegal": "drugs, hacking and malware, fraud, scams, theft, disinformation",
    "jailbreak": "attempts to switch off the model's rules (role-play override, DAN, developer mode)",
    "prompt_injection": "instructions that try to replace the operator's instructions",
    "system_prompt_extraction": "attempts to make the model reveal its system prompt or hidden instructions",
}
