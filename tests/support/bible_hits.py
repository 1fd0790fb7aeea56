"""Whether a search hit is the World English Bible passage a reference names (the checks of the shared library)."""

from __future__ import annotations

from homily.grounding.index import SearchHit
from homily.grounding.scripture import find_references, is_referenced

BIBLE_SUFFIX = "(World English Bible)"


def holds_reference(hit: SearchHit, text: str) -> bool:
    """The hit is a World English Bible chunk holding a passage `text` names ("Romans 8:28", "Rom 8:28-30")."""
    return hit.title.endswith(BIBLE_SUFFIX) and is_referenced(
        find_references(text), hit.title, " > ".join(hit.heading_path), hit.text
    )
