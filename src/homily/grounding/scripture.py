"""Bible references in a question ("Rom 8:28", "1 Cor 13:4-7", "Psalm 23") and the passages they point to.

Readers name passages by reference far more often than by wording, and usually abbreviated. Keyword search cannot
match "Rom" to a chunk titled "Romans", and a query vector of "Rom 8:28" says little, so retrieval (both backends)
adds each reference's canonical book name to the keyword terms (`reference_terms`) and ranks the chunks that hold
the referenced chapter or verses first (`is_referenced`).

A reference is a book name or abbreviation with a capital letter (or a leading book number) followed by a chapter:
"the numbers 3 and 4" or "job 2" are not references, "Numbers 3" and "Job 2" are. A chunk holds a reference when its
title or heading names the book and it carries the verse markers ("8:28 ...") of the referenced chapter and verses,
or, for a whole chapter, a heading ending in "<book> <chapter>" or any marker of that chapter: the form of the
shared library's Bible and of most Bible texts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

# Canonical names (as the World English Bible spells them, plus the Douay-Rheims deuterocanon) and the other
# names and abbreviations readers use (SBL and common forms). Abbreviations that are everyday words or product
# names before a number ("Am", "Is", "Song", "Pro") are left out.
_BOOKS: dict[str, tuple[str, ...]] = {
    "Genesis": ("Gen", "Gn"),
    "Exodus": ("Exod", "Exo", "Ex"),
    "Leviticus": ("Lev", "Lv"),
    "Numbers": ("Num", "Nm"),
    "Deuteronomy": ("Deut", "Dt"),
    "Joshua": ("Josh", "Jos"),
    "Judges": ("Judg", "Jdg"),
    "Ruth": ("Rth",),
    "1 Samuel": ("1 Sam", "1 Sa", "I Samuel"),
    "2 Samuel": ("2 Sam", "2 Sa", "II Samuel"),
    "1 Kings": ("1 Kgs", "1 Ki", "I Kings"),
    "2 Kings": ("2 Kgs", "2 Ki", "II Kings"),
    "1 Chronicles": ("1 Chr", "1 Chron", "I Chronicles"),
    "2 Chronicles": ("2 Chr", "2 Chron", "II Chronicles"),
    "Ezra": ("Ezr",),
    "Nehemiah": ("Neh",),
    "Esther": ("Esth", "Est"),
    "Job": ("Jb",),
    "Psalms": ("Psalm", "Ps", "Psa", "Pss"),
    "Proverbs": ("Prov", "Prv"),
    "Ecclesiastes": ("Eccl", "Eccles", "Ecc", "Qoheleth"),
    "Song of Solomon": ("Song of Songs", "Canticle of Canticles", "Canticles"),
    "Isaiah": ("Isa",),
    "Jeremiah": ("Jer",),
    "Lamentations": ("Lam",),
    "Ezekiel": ("Ezek", "Eze"),
    "Daniel": ("Dan", "Dn"),
    "Hosea": ("Hos",),
    "Joel": ("Jl",),
    "Amos": (),
    "Obadiah": ("Obad", "Ob"),
    "Jonah": ("Jon",),
    "Micah": ("Mic",),
    "Nahum": ("Nah",),
    "Habakkuk": ("Hab",),
    "Zephaniah": ("Zeph",),
    "Haggai": ("Hag",),
    "Zechariah": ("Zech",),
    "Malachi": ("Mal",),
    "Matthew": ("Matt", "Mt"),
    "Mark": ("Mk", "Mrk"),
    "Luke": ("Lk",),
    "John": ("Jn", "Jhn"),
    "Acts": ("Acts of the Apostles",),
    "Romans": ("Rom", "Ro"),
    "1 Corinthians": ("1 Cor", "1 Co", "I Corinthians"),
    "2 Corinthians": ("2 Cor", "2 Co", "II Corinthians"),
    "Galatians": ("Gal",),
    "Ephesians": ("Eph",),
    "Philippians": ("Phil", "Php"),
    "Colossians": ("Col",),
    "1 Thessalonians": ("1 Thess", "1 Thes", "1 Th", "I Thessalonians"),
    "2 Thessalonians": ("2 Thess", "2 Thes", "2 Th", "II Thessalonians"),
    "1 Timothy": ("1 Tim", "1 Ti", "I Timothy"),
    "2 Timothy": ("2 Tim", "2 Ti", "II Timothy"),
    "Titus": (),
    "Philemon": ("Phlm", "Philem", "Phm"),
    "Hebrews": ("Heb",),
    "James": ("Jas", "Jms"),
    "1 Peter": ("1 Pet", "1 Pt", "I Peter"),
    "2 Peter": ("2 Pet", "2 Pt", "II Peter"),
    "1 John": ("1 Jn", "1 Jhn", "I John"),
    "2 John": ("2 Jn", "2 Jhn", "II John"),
    "3 John": ("3 Jn", "3 Jhn", "III John"),
    "Jude": (),
    "Revelation": ("Rev", "Revelations", "Apocalypse"),
    "Tobit": ("Tob", "Tobias"),
    "Judith": ("Jdt",),
    "Wisdom": ("Wis", "Wisdom of Solomon"),
    "Sirach": ("Sir", "Ecclesiasticus"),
    "Baruch": ("Bar",),
    "1 Maccabees": ("1 Macc", "I Maccabees", "1 Machabees"),
    "2 Maccabees": ("2 Macc", "II Maccabees", "2 Machabees"),
}


def _name_pattern(name: str) -> str:
    """A name as a pattern: any spacing after a book number ("1Cor", "1 Cor"), an optional "st/nd/rd" ("1st")."""
    number, _, rest = name.partition(" ")
    if number in {"1", "2", "3"} and rest:
        return rf"{number}(?:st|nd|rd)?\s*{re.escape(rest)}"
    return re.escape(name).replace(r"\ ", r"\s+")


@cache
def _aliases() -> Mapping[str, str]:
    """Every name and abbreviation, lower-cased with single spaces, to its canonical book."""
    table: dict[str, str] = {}
    for canonical, aliases in _BOOKS.items():
        for name in (canonical, *aliases):
            table[re.sub(r"\s+", " ", name.lower())] = canonical
    return MappingProxyType(table)


@cache
def _reference_pattern() -> re.Pattern[str]:
    # Longest names first, so "Song of Songs" wins over "Song" and "1 John" over "John".
    names = sorted({name for canonical, aliases in _BOOKS.items() for name in (canonical, *aliases)}, key=len)
    return re.compile(
        r"(?<![\w:])(?=[A-Z123])(?P<book>" + "|".join(_name_pattern(name) for name in reversed(names)) + r")\.?\s*"
        r"(?P<chapter>\d{1,3})(?:\s*[:.]\s*(?P<first>\d{1,3})(?:\s*[-\u2013]\s*(?P<last>\d{1,3}))?)?(?![\w:])"
    )


_ORDINAL = re.compile(r"^([123])(?:st|nd|rd)?\s*")
MAX_RANGE = 40


@dataclass(frozen=True, slots=True)
class ScriptureReference:
    """`book` is canonical; `first_verse`/`last_verse` are None for a whole chapter."""

    book: str
    chapter: int
    first_verse: int | None = None
    last_verse: int | None = None

    def verses(self) -> range:
        if self.first_verse is None:
            return range(0)
        last = self.last_verse if self.last_verse is not None else self.first_verse
        return range(self.first_verse, max(self.first_verse, min(last, self.first_verse + MAX_RANGE)) + 1)


def _canonical(book: str) -> str | None:
    if not book[0].isupper() and not book[0].isdigit():
        return None
    normalised = _ORDINAL.sub(lambda match: match.group(1) + " ", re.sub(r"\s+", " ", book.strip()))
    return _aliases().get(normalised.lower())


def find_references(text: str) -> list[ScriptureReference]:
    """The Bible references in `text`, in order, each once."""
    found: dict[ScriptureReference, None] = {}
    if re.search(r"\d", text) is None:  # no chapter number, no reference (the common case, cheaply)
        return []
    for match in _reference_pattern().finditer(text):
        book = _canonical(match["book"])
        if book is None:
            continue
        first = int(match["first"]) if match["first"] else None
        last = int(match["last"]) if match["last"] else None
        found.setdefault(ScriptureReference(book, int(match["chapter"]), first, last), None)
    return list(found)


def reference_terms(text: str) -> list[str]:
    """The canonical book names of the references in `text`, as keyword terms ("Rom 8:28" -> "romans")."""
    return book_words(find_references(text))


def book_words(references: Sequence[ScriptureReference]) -> list[str]:
    """The lower-cased words of the referenced books' names (canonical and as Bibles title them), once each."""
    words: dict[str, None] = {}
    for reference in references:
        for name in (reference.book, *_TITLED_AS.get(reference.book, ())):
            for word in name.lower().split():
                words.setdefault(word, None)
    return list(words)


# Other full names a Bible may title a book with (the Douay-Rheims' Vulgate names, the Apocalypse).
_TITLED_AS: dict[str, tuple[str, ...]] = {
    "Tobit": ("Tobias",),
    "Sirach": ("Ecclesiasticus",),
    "1 Maccabees": ("1 Machabees",),
    "2 Maccabees": ("2 Machabees",),
    "Song of Solomon": ("Song of Songs", "Canticle of Canticles"),
    "Revelation": ("Apocalypse",),
}


def _names_book(title: str, heading: str, book: str) -> bool:
    return any(_names(title, heading, name) for name in (book, *_TITLED_AS.get(book, ())))


def _names(title: str, heading: str, book: str) -> bool:
    # Named as a book: "Romans (World English Bible)", "Romans > Romans 8", "Romans 14"; not "1 John" for John,
    # nor "Matthew Henry's Commentary" for Matthew.
    pattern = rf"(?<![\w])(?<!\d ){re.escape(book)}(?=\s*(?:$|[(>:,;]|\d))"
    return re.search(pattern, title) is not None or re.search(pattern, heading) is not None


def _heading_ends_with_chapter(heading: str, reference: ScriptureReference) -> bool:
    names = (reference.book, *_TITLED_AS.get(reference.book, ()))
    return any(heading.rstrip().endswith(f"{name} {reference.chapter}") for name in names)


def is_referenced(references: Sequence[ScriptureReference], title: str, heading: str, text: str) -> bool:
    """Whether a chunk (its title, heading path joined by any separator, and text) holds one of `references`."""
    for reference in references:
        # Cheapest test first: most chunks a search weighs carry no marker of the chapter at all.
        marked = f"{reference.chapter}:" in text
        if not marked and (reference.first_verse is not None or not _heading_ends_with_chapter(heading, reference)):
            continue
        if not _names_book(title, heading, reference.book):
            continue
        verses = reference.verses()
        if verses:
            markers = "|".join(str(verse) for verse in verses)
            if re.search(rf"(?<![\d:]){reference.chapter}:(?:{markers})(?!\d)", text):
                return True
        elif _heading_ends_with_chapter(heading, reference) or re.search(rf"(?<![\d:]){reference.chapter}:\d", text):
            return True
    return False


def referenced_rows(references: Sequence[ScriptureReference], rows: Iterable[tuple[int, str, str, str]]) -> set[int]:
    """The ids of the rows `(id, title, heading, text)` that hold one of `references`."""
    if not references:
        return set()
    return {rowid for rowid, title, heading, text in rows if is_referenced(references, title, heading, text)}


def book_query(references: Sequence[ScriptureReference]) -> str:
    """A keyword query for the chunks naming the referenced books (no digits, so no reference of its own)."""
    return " ".join(word for word in book_words(references) if not word.isdigit())


def with_referenced(
    keyword_hits: list[tuple[int, float]],
    book_hits: list[tuple[int, float]],
    holding: Callable[[list[int]], set[int]],
) -> list[tuple[int, float]]:
    """`keyword_hits` and, after them, the `book_hits` that `holding` finds to hold a reference.

    A referenced chunk need not be among the usual keyword candidates: "Gen 1:1" leaves only "genesis" as a telling
    term, and 200 chunks of Genesis compete for 100 places; so the chunks naming the book are searched as well."""
    present = {rowid for rowid, _ in keyword_hits}
    others = [(rowid, score) for rowid, score in book_hits if rowid not in present]
    if not others:
        return keyword_hits
    held = holding([rowid for rowid, _ in others])
    return keyword_hits + [(rowid, score) for rowid, score in others if rowid in held]
