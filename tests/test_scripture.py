"""Bible references in questions: which text counts as one, and which chunk holds it."""

from __future__ import annotations

import pytest

from homily.grounding.keyword import query_terms
from homily.grounding.scripture import ScriptureReference, find_references, is_referenced, referenced_rows


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Rom 8:28", [ScriptureReference("Romans", 8, 28)]),
        ("Ex 3:14", [ScriptureReference("Exodus", 3, 14)]),
        ("What does Rom. 8.28 promise?", [ScriptureReference("Romans", 8, 28)]),
        ("1 Cor 13:4-7", [ScriptureReference("1 Corinthians", 13, 4, 7)]),
        ("1Cor 13:4\u20137", [ScriptureReference("1 Corinthians", 13, 4, 7)]),
        ("II Kings 5", [ScriptureReference("2 Kings", 5)]),
        ("1st John 2", [ScriptureReference("1 John", 2)]),
        ("Psalm 23", [ScriptureReference("Psalms", 23)]),
        ("Ps 23:1 and Ps 23:1 again", [ScriptureReference("Psalms", 23, 1)]),
        ("Song of Songs 2:4", [ScriptureReference("Song of Solomon", 2, 4)]),
        ("Jn 3:16 and 1 Jn 4:8", [ScriptureReference("John", 3, 16), ScriptureReference("1 John", 4, 8)]),
        ("Compare Tobit 4 with Sir 3", [ScriptureReference("Tobit", 4), ScriptureReference("Sirach", 3)]),
    ],
)
def test_references_are_found_in_their_usual_forms(text: str, expected: list[ScriptureReference]) -> None:
    assert find_references(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "the numbers 3 and 4",
        "my job 2 days a week",
        "iPad Pro 3",
        "Song 2 of the setlist",
        "Romans",
        "in 2026 the acts 5 times",
        "version 1.2:3",
    ],
)
def test_ordinary_text_is_no_reference(text: str) -> None:
    assert find_references(text) == []


def test_long_ranges_are_capped() -> None:
    (reference,) = find_references("Psalm 119:1-176")
    assert len(reference.verses()) == 41
    assert list(find_references("Psalm 23")[0].verses()) == []


def test_keyword_terms_add_the_full_book_name() -> None:
    assert query_terms("What does Rom 8:28 mean?") == ["romans", "rom", "8", "28", "mean"]
    assert query_terms("Hello world") == ["hello", "world"]


def test_a_chunk_holds_a_reference_by_book_and_verse_markers() -> None:
    romans_8_28 = find_references("Rom 8:28")
    assert is_referenced(romans_8_28, "Romans (World English Bible)", "Romans > Romans 8", "8:27 x\n8:28 We know")
    assert not is_referenced(romans_8_28, "Romans (World English Bible)", "Romans > Romans 8", "8:2 x\n8:280 y")
    assert not is_referenced(romans_8_28, "Galatians (World English Bible)", "Galatians > Galatians 8", "8:28 x")
    # "John" is not named by "1 John", nor "Matthew" by "Matthew Henry's Commentary".
    assert not is_referenced(find_references("John 4:8"), "1 John (WEB)", "1 John > 1 John 4", "4:8 God is love")
    assert not is_referenced(find_references("Matt 5:3"), "Matthew Henry's Commentary: John 18", "", "Mt 5:3 5:3")
    # A whole chapter: by a heading ending in "<book> <chapter>", or by any verse marker of the chapter.
    psalm_23 = find_references("Psalm 23")
    assert is_referenced(psalm_23, "Psalms (World English Bible)", "Psalms > Psalms 23", "He restores my soul")
    assert is_referenced(psalm_23, "Psalms (World English Bible)", "Psalms", "22:31 x\n23:1 Yahweh is my shepherd")
    assert not is_referenced(psalm_23, "Psalms (World English Bible)", "Psalms > Psalms 24", "24:1 The earth")
    rows = [(1, "Romans (WEB)", "Romans > Romans 8", "8:28 We"), (2, "Romans (WEB)", "Romans > Romans 9", "9:1 I")]
    assert referenced_rows(romans_8_28, rows) == {1}
    assert referenced_rows([], rows) == set()


def test_a_bible_titling_books_by_their_vulgate_names_holds_their_references() -> None:
    sirach_6 = find_references("Sir 6:14")
    assert sirach_6 == [ScriptureReference("Sirach", 6, 14)]
    assert is_referenced(sirach_6, "Ecclesiasticus (Douay-Rheims)", "Ecclesiasticus > Ecclesiasticus 6", "6:14 A")
    assert is_referenced(find_references("2 Macc 12"), "2 Machabees (Douay-Rheims)", "2 Machabees > 2 Machabees 12", "")
    assert query_terms("Sir 6:14")[:3] == ["sirach", "ecclesiasticus", "sir"]
