"""Build GlooGrounded, the shared default library, from ../shared/data/corpus.

Selects a tradition-tagged, roughly balanced set of public-domain works (Scripture, creeds, confessions,
catechisms, a prayer book, devotional and patristic writings), chunks them with the production chunker, embeds
every chunk once with all-MiniLM-L6-v2 and writes the package data to src/homily/grounding/library/:

    items.jsonl.xz     one JSON object per item: metadata and its chunks (text, heading path, offsets)
    vectors.npz        int8 chunk vectors (row-wise scale) in item/chunk order, plus the scales
    manifest.json      model, counts, a digest binding the vectors to the chunk texts, per-source figures
    ATTRIBUTION.md     every source, its licence and why it carries its tradition tag

Run once (about 15 minutes of CPU here: ~11,400 chunks): `python scripts/build_library.py [--data-dir ...] [--dry-run]`.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "src"))

from homily.grounding.chunking import chunk_document  # noqa: E402
from homily.grounding.document import DocumentMetadata, ParsedDocument, Section  # noqa: E402
from homily.grounding.library import LIBRARY_DIR, write_library  # noqa: E402

log = logging.getLogger("build_library")

ITEM_NAMESPACE = uuid.UUID("0d5bd1f4-6a39-4c51-9a51-5c3f1f0e6b7a")


@dataclass
class LibraryItem:
    source: str
    key: str
    title: str
    tradition: str
    author: str | None
    sections: list[Section]
    tags: list[str] = field(default_factory=list)

    @property
    def words(self) -> int:
        return sum(len(s.text.split()) for s in self.sections)

    @property
    def item_id(self) -> str:
        return str(uuid.uuid5(ITEM_NAMESPACE, f"{self.source}/{self.key}"))


@dataclass(frozen=True)
class Source:
    """A folder of the corpus, its tradition, a word budget and how to turn it into items."""

    folder: str
    tradition: str
    max_words: int
    load: Callable[[Path], Iterable[LibraryItem]]
    licence: str
    why: str


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def _clean(text: str) -> str:
    return re.sub(r"[ \t]+", " ", text).strip()


# ---- loaders -------------------------------------------------------------------------------------------


def bible(
    file: str, books: tuple[str, ...] | None, version: str, source: str, tradition: str
) -> Callable[[Path], Iterable[LibraryItem]]:
    """One item per book, one section per chapter; `books=None` takes every book in the file's (canonical) order."""

    def load(root: Path) -> Iterator[LibraryItem]:
        chapters: dict[str, dict[int, list[str]]] = {}
        for verse in _jsonl(root / file):
            if books is None or verse["book"] in books:
                chapters.setdefault(verse["book"], {}).setdefault(int(verse["chapter"]), []).append(
                    f"{verse['chapter']}:{verse['verse']} {_clean(verse['text'])}"
                )
        for book in books if books is not None else tuple(chapters):
            if book not in chapters:
                log.warning("book %s missing from %s", book, file)
                continue
            sections = [
                Section((book, f"{book} {number}"), "\n".join(lines))
                for number, lines in sorted(chapters[book].items())
            ]
            yield LibraryItem(source, book, f"{book} ({version})", tradition, None, sections, ["Scripture", version])

    return load


def _creed_text(entry: Any) -> Iterator[tuple[str, str]]:
    """(heading, text) pairs from the Creeds.json `Data` shapes: Content, Q/A lists, articles, chapters."""
    if isinstance(entry, dict):
        if "Question" in entry and "Answer" in entry:
            number = entry.get("Number", "")
            yield (
                f"Question {number}".strip(),
                f"Q. {_clean(str(entry['Question']))}\nA. {_clean(str(entry['Answer']))}",
            )
            return
        heading = " ".join(str(entry[k]) for k in ("Chapter", "Article", "Title") if entry.get(k))
        if isinstance(entry.get("Content"), str):
            yield heading, entry["Content"]
        for key in ("Sections", "Articles", "Data"):
            for child in entry.get(key) or []:
                for sub_heading, text in _creed_text(child):
                    yield (f"{heading} {sub_heading}".strip() if heading else sub_heading), text
    elif isinstance(entry, list):
        for child in entry:
            yield from _creed_text(child)


def creeds(names: tuple[str, ...], source: str, tradition: str) -> Callable[[Path], Iterable[LibraryItem]]:
    def load(root: Path) -> Iterator[LibraryItem]:
        for name in names:
            document = json.loads((root / f"{name}.json").read_text(encoding="utf-8"))
            meta = document["Metadata"]
            sections = [Section((h,) if h else (), t) for h, t in _creed_text(document["Data"]) if t.strip()]
            year = f" ({meta['Year']})" if meta.get("Year") else ""
            authors = ", ".join(meta.get("Authors") or []) or None
            yield LibraryItem(
                source,
                name,
                f"{meta['Title']}{year}",
                tradition,
                authors,
                sections,
                [meta.get("CreedFormat") or "Creed"],
            )

    return load


def fathers(files: tuple[str, ...], source: str, tradition: str) -> Callable[[Path], Iterable[LibraryItem]]:
    marker = re.compile(r"^\*\*\[(\d+):\d+\]\*\*\s*")

    def load(root: Path) -> Iterator[LibraryItem]:
        for name in files:
            lines = (root / name).read_text(encoding="utf-8").splitlines()
            title = lines[0].lstrip("# ").strip() if lines and lines[0].startswith("#") else Path(name).stem
            chapters: dict[int, list[str]] = {}
            for line in lines[1:]:
                match = marker.match(line)
                if match:
                    chapters.setdefault(int(match[1]), []).append(_clean(line[match.end() :]))
            sections = [
                Section((title, f"Chapter {n}"), " ".join(s for s in parts if s))
                for n, parts in sorted(chapters.items())
            ]
            author = title.split(":", 1)[0].strip() if ":" in title else None
            yield LibraryItem(source, name, title, tradition, author, sections, ["Church Fathers"])

    return load


def records(  # noqa: PLR0917 - a table of loaders reads best positionally
    file: str,
    source: str,
    tradition: str,
    item_fields: tuple[str, ...],
    heading_fields: tuple[str, ...],
    title: Callable[[dict[str, Any]], str],
    author: str | None = None,
    tags: tuple[str, ...] = (),
) -> Callable[[Path], Iterable[LibraryItem]]:
    """Group consecutive JSONL records sharing `item_fields` into an item; `heading_fields` head records."""

    def load(root: Path) -> Iterator[LibraryItem]:
        current: LibraryItem | None = None
        current_key: tuple[str, ...] | None = None
        for record in _jsonl(root / file):
            key = tuple(str(record.get(f, "")) for f in item_fields)
            if key != current_key:
                if current is not None:
                    yield current
                current_key = key
                current = LibraryItem(
                    source,
                    "/".join(key),
                    title(record),
                    tradition,
                    record.get("author") or author,
                    [],
                    list(tags),
                )
            assert current is not None
            if isinstance(record.get("question"), str) and isinstance(record.get("answer"), str):
                text = f"Q. {_clean(record['question'])}\nA. {_clean(record['answer'])}"
            else:
                text = str(record.get("text") or "")
            heading = tuple(_clean(str(record[f])) for f in heading_fields if str(record.get(f) or "").strip())
            if text.strip():
                current.sections.append(Section(heading, text))
        if current is not None:
            yield current

    return load


def spurgeon(root: Path) -> Iterator[LibraryItem]:
    readings = json.loads((root / "spurgeon_morning_and_evening.json").read_text(encoding="utf-8"))
    for reading in readings:
        body = str(reading["body"])
        heading, _, text = body.partition("\n")
        when = "Morning" if reading["time"] == "am" else "Evening"
        title = f"Morning and Evening: {heading.strip() or reading['date'] + ' ' + when}"
        key = f"{reading['date']}-{reading['time']}"
        sections = [Section((), text)]
        yield LibraryItem(
            "spurgeon_morning_evening", key, title, "evangelical", "C. H. Spurgeon", sections, ["Devotional"]
        )


# ---- the selection -------------------------------------------------------------------------------------

CT = "christian_texts"
CTM = "christian_texts_more"
PD = "Public domain."

SOURCES: tuple[Source, ...] = (
    # not_faith_specific: Scripture in a modern ecumenical translation, the ecumenical creeds, the Fathers.
    Source(
        f"{CT}/bible_web",
        "not_faith_specific",
        800_000,  # the whole Bible (66 books, ~750k words): readers ask about any book, chapter and verse
        bible("web_verses.jsonl", None, "World English Bible", "bible_web", "not_faith_specific"),
        "Public domain (ebible.org; 'World English Bible' is a trademark).",
        "Scripture shared by every Christian tradition, in a modern public-domain translation.",
    ),
    Source(
        f"{CT}/creeds_confessions_catechisms",
        "not_faith_specific",
        20_000,
        creeds(
            (
                "apostles_creed",
                "nicene_creed",
                "athanasian_creed",
                "chalcedonian_definition",
                "council_of_orange",
                "irenaeus_rule_of_faith",
                "tertullians_rule_of_faith",
            ),
            "creeds_ecumenical",
            "not_faith_specific",
        ),
        "Public domain per Creeds.json metadata (repo NonlinearFruit/Creeds.json, Unlicense).",
        "The ecumenical creeds and early rules of faith confessed across traditions.",
    ),
    Source(
        f"{CT}/church_fathers_npnf",
        "not_faith_specific",
        220_000,  # every work of the folder, whole (~212k words): the Confessions' thirteen books and six shorter works
        fathers(
            (
                *(f"augustine_confessions/book_{number:02d}.md" for number in range(1, 14)),
                "other/augustine-the-enchiridion.md",
                "other/augustine-a-treatise-on-faith-and-the-creed.md",
                "other/athanasius-on-the-incarnation-of-the-word.md",
                "other/mathetes-epistle-to-diognetus.md",
                "other/polycarp-epistle-to-philippians.md",
                "other/polycarp-martyrdom-of-polycarp.md",
            ),
            "church_fathers_npnf",
            "not_faith_specific",
        ),
        "Public domain (Schaff NPNF/ANF translations, 1880s).",
        "Patristic writings that precede the divisions of the Church.",
    ),
    # catholic
    Source(
        f"{CTM}/baltimore_catechism_no2",
        "catholic",
        40_000,
        records(
            "baltimore_catechism_no2.jsonl",
            "baltimore_catechism_no2",
            "catholic",
            ("work",),
            ("lesson_title",),
            lambda r: "Baltimore Catechism No. 2",
            tags=("Catechism",),
        ),
        PD,
        "The standard Catholic catechism in the United States (1885).",
    ),
    Source(
        f"{CTM}/roman_catechism_trent",
        "catholic",
        30_000,
        records(
            "roman_catechism_trent.jsonl",
            "roman_catechism_trent",
            "catholic",
            ("part", "article"),
            ("section",),
            lambda r: f"Catechism of the Council of Trent: {r.get('article') or r.get('part')}".title(),
            tags=("Catechism",),
        ),
        "Public domain (McHugh & Callan translation, 1923; US public domain).",
        "The catechism issued by the Council of Trent.",
    ),
    Source(
        f"{CTM}/imitation_of_christ",
        "catholic",
        25_000,
        records(
            "imitation_of_christ.jsonl",
            "imitation_of_christ",
            "catholic",
            ("book",),
            ("chapter_title",),
            lambda r: f"The Imitation of Christ: {r.get('book_title')}",
            author="Thomas à Kempis",
            tags=("Devotional",),
        ),
        PD,
        "Classic Catholic devotional work (Thomas à Kempis).",
    ),
    Source(
        f"{CTM}/introduction_devout_life",
        "catholic",
        20_000,
        records(
            "introduction_devout_life.jsonl",
            "introduction_devout_life",
            "catholic",
            ("part", "chapter"),
            ("chapter_title",),
            lambda r: f"Introduction to the Devout Life: {r.get('part')}, {r.get('chapter_title')}",
            author="St. Francis de Sales",
            tags=("Devotional",),
        ),
        PD,
        "Catholic devotional classic (St. Francis de Sales).",
    ),
    Source(
        f"{CTM}/summa_theologica_selections",
        "catholic",
        25_000,
        records(
            "summa_theologica_selections.jsonl",
            "summa_theologica_selections",
            "catholic",
            ("part", "question"),
            ("article_title",),
            lambda r: f"Summa Theologica {r.get('part_abbr')} q.{r.get('question')}: {r.get('question_title')}",
            author="Thomas Aquinas",
            tags=("Theology",),
        ),
        "Public domain (Fathers of the English Dominican Province translation, 1911-1925).",
        "The central work of Catholic scholastic theology.",
    ),
    Source(
        f"{CTM}/bible_douay_rheims",
        "catholic",
        110_000,  # the seven deuterocanonical books, whole (~103k words)
        bible(
            "drb_verses.jsonl",
            ("Tobias", "Judith", "Wisdom", "Ecclesiasticus", "Baruch", "1 Machabees", "2 Machabees"),
            "Douay-Rheims",
            "bible_douay_rheims",
            "catholic",
        ),
        "Public domain (Challoner revision).",
        "The deuterocanonical books of the Catholic Bible (Tobit, Judith, Wisdom, Sirach, Baruch, 1-2 Maccabees).",
    ),
    # mainline
    Source(
        f"{CTM}/bcp_1928_us",
        "mainline",
        40_000,
        records(
            "bcp_1928.jsonl",
            "bcp_1928_us",
            "mainline",
            ("section",),
            (),
            lambda r: f"Book of Common Prayer (1928): {r.get('section')}".replace("—", "-")[:160],
            tags=("Prayer book",),
        ),
        "Public domain (US, 1928/1945 certified text).",
        "The Episcopal Church's prayer book.",
    ),
    Source(
        f"{CTM}/thirty_nine_articles_us1801",
        "mainline",
        10_000,
        records(
            "thirty_nine_articles.jsonl",
            "thirty_nine_articles",
            "mainline",
            ("work",),
            ("title",),
            lambda r: "Articles of Religion (Thirty-Nine Articles, 1801)",
            tags=("Confession",),
        ),
        PD,
        "The Anglican/Episcopal articles of faith.",
    ),
    Source(
        f"{CTM}/lutheran_confessions",
        "mainline",
        30_000,
        records(
            "lutheran_confessions.jsonl",
            "lutheran_confessions",
            "mainline",
            ("work",),
            ("section",),
            lambda r: str(r.get("work")),
            tags=("Confession",),
        ),
        "Public domain (Triglot Concordia translation, 1921).",
        "The Lutheran confessions (Book of Concord).",
    ),
    Source(
        f"{CTM}/luther_reformation_writings",
        "mainline",
        12_000,
        records(
            "luther_reformation_writings.jsonl",
            "luther_reformation_writings",
            "mainline",
            ("work",),
            ("section",),
            lambda r: str(r.get("work")),
            author="Martin Luther",
        ),
        "Public domain (Works of Martin Luther, 1915).",
        "Luther's Reformation writings (Lutheran).",
    ),
    Source(
        f"{CT}/creeds_confessions_catechisms",
        "mainline",
        30_000,
        creeds(
            (
                "heidelberg_catechism",
                "belgic_confession_of_faith",
                "westminster_shorter_catechism",
                "scots_confession",
                "canons_of_dort",
            ),
            "creeds_reformed",
            "mainline",
        ),
        "Public domain per Creeds.json metadata (repo NonlinearFruit/Creeds.json, Unlicense).",
        "Reformed confessions in the confessional books of the mainline Presbyterian and Reformed churches.",
    ),
    # evangelical
    Source(
        f"{CT}/spurgeon_morning_evening",
        "evangelical",
        35_000,
        spurgeon,
        "Public domain (text from CCEL).",
        "C. H. Spurgeon, Baptist preacher: evangelical devotional classic.",
    ),
    Source(
        f"{CTM}/moody_way_to_god",
        "evangelical",
        30_000,
        records(
            "moody_way_to_god.jsonl",
            "moody_way_to_god",
            "evangelical",
            ("chapter",),
            (),
            lambda r: f"The Way to God: {r.get('chapter_title')}",
            tags=("Evangelism",),
        ),
        PD,
        "D. L. Moody, evangelist.",
    ),
    Source(
        f"{CTM}/edwards_selected_sermons",
        "evangelical",
        30_000,
        records(
            "edwards_selected_sermons.jsonl",
            "edwards_selected_sermons",
            "evangelical",
            ("number",),
            (),
            lambda r: f"Jonathan Edwards: {r.get('title')}",
            author="Jonathan Edwards",
            tags=("Sermon",),
        ),
        PD,
        "Jonathan Edwards, preacher of the Great Awakening.",
    ),
    Source(
        f"{CTM}/matthew_henry_commentary_john_romans",
        "evangelical",
        30_000,
        records(
            "matthew_henry_john_romans.jsonl",
            "matthew_henry",
            "evangelical",
            ("book", "chapter"),
            (),
            lambda r: f"Matthew Henry's Commentary: {r.get('book')} {r.get('chapter') or '(introduction)'}",
            author="Matthew Henry",
            tags=("Commentary",),
        ),
        PD,
        "Matthew Henry's commentary, a staple of evangelical Bible study.",
    ),
    Source(
        f"{CT}/creeds_confessions_catechisms",
        "evangelical",
        40_000,
        creeds(
            ("london_baptist_1689", "1695_baptist_catechism", "abstract_of_principles"),
            "creeds_baptist",
            "evangelical",
        ),
        "Public domain per Creeds.json metadata (repo NonlinearFruit/Creeds.json, Unlicense).",
        "Baptist confessions and catechisms.",
    ),
)


def select(items: list[LibraryItem], max_words: int) -> list[LibraryItem]:
    """Every k-th item so the total stays within `max_words` (keeps coverage of the whole work); an item
    larger than what is left of the budget keeps its leading sections."""
    total = sum(item.words for item in items)
    if total <= max_words:
        return items
    stride = max(1, math.ceil(total / max_words)) if len(items) > 8 else 1
    chosen: list[LibraryItem] = []
    words = 0
    for candidate in items[::stride]:
        item = candidate
        left = max_words - words
        if item.words > left:
            if left < 1500:
                continue
            sections: list[Section] = []
            for section in item.sections:
                size = len(section.text.split())
                if size > left:
                    break
                sections.append(section)
                left -= size
            if not sections:
                continue
            item = LibraryItem(item.source, item.key, item.title, item.tradition, item.author, sections, item.tags)
        chosen.append(item)
        words += item.words
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=REPO_ROOT / ".." / "shared" / "data")
    parser.add_argument("--out", type=Path, default=LIBRARY_DIR)
    parser.add_argument("--dry-run", action="store_true", help="report the selection, do not embed or write")
    parser.add_argument("--text-only", action="store_true", help="write texts without vectors (embedded at start)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    corpus = Path(args.data_dir) / "corpus"

    selected: list[tuple[Source, LibraryItem]] = []
    seen_ids: set[str] = set()
    for source in SOURCES:
        items = [i for i in source.load(corpus / source.folder) if i.sections]
        chosen = select(items, source.max_words)
        for item in chosen:
            base_key, number = item.key, 1
            while item.item_id in seen_ids:  # a work may repeat a heading (e.g. two "Collects" sections)
                number += 1
                item.key = f"{base_key}#{number}"
            seen_ids.add(item.item_id)
            selected.append((source, item))
        label = source.folder + " " + chosen[0].source if chosen else source.folder
        words = sum(i.words for i in chosen)
        log.info("%-55s %-18s %4d/%4d items %7d words", label, source.tradition, len(chosen), len(items), words)

    rows: list[dict[str, Any]] = []
    texts: list[str] = []
    per_tradition: dict[str, dict[str, int]] = {}
    for source, item in selected:
        metadata = DocumentMetadata(
            title=item.title, author=item.author, tradition=item.tradition, tags=tuple(item.tags)
        )
        document = ParsedDocument(item.title, tuple(item.sections), metadata)
        chunks = chunk_document(document)
        texts.extend(chunk.embedding_text(item.title) for chunk in chunks)
        stats = per_tradition.setdefault(item.tradition, {"items": 0, "chunks": 0, "tokens": 0})
        stats["items"] += 1
        stats["chunks"] += len(chunks)
        stats["tokens"] += sum(c.token_count for c in chunks)
        rows.append({
            "item_id": item.item_id, "title": item.title, "author": item.author, "tradition": item.tradition,
            "tags": item.tags, "source": source.folder, "filename": f"{item.source}/{item.key}",
            "chunks": [{"text": c.text, "heading_path": list(c.heading_path), "char_start": c.char_start,
                        "char_end": c.char_end, "token_count": c.token_count} for c in chunks],
        })  # fmt: skip
    log.info("selection: %d items, %d chunks; per tradition %s", len(rows), len(texts), per_tradition)
    if args.dry_run:
        return 0
    out: Path = args.out
    if args.text_only:
        write_library(out, rows, None, model="all-MiniLM-L6-v2", extra={"per_tradition": per_tradition})
        _write_attribution(out / "ATTRIBUTION.md", selected)
        return 0

    from homily.embeddings import load_local_embedder
    from homily.grounding.embedder import cached_embeddings

    embedder = load_local_embedder()
    started = time.perf_counter()
    vectors = cached_embeddings(embedder, texts, Path(tempfile.gettempdir()) / "homily-library-cache", "library")
    log.info("embedded %d chunks in %.0f s", len(texts), time.perf_counter() - started)
    write_library(out, rows, vectors, model=embedder.model_name, extra={"per_tradition": per_tradition})
    _write_attribution(out / "ATTRIBUTION.md", selected)
    log.info(
        "wrote %s (%s)",
        out,
        ", ".join(f"{p.name} {p.stat().st_size / 1e6:.2f} MB" for p in sorted(out.iterdir())),
    )
    return 0


def _write_attribution(path: Path, selected: list[tuple[Source, LibraryItem]]) -> None:
    lines = [
        "# GlooGrounded: sources and attribution",
        "",
        "Built by `scripts/build_library.py` from `../shared/data/corpus` (see each folder's SOURCE.txt for",
        "the repository, path and commit). Every text is in the public domain; the tradition tag says which",
        "tradition's sources a request with that `tradition` prefers (it never hides the others).",
        "Not included: the KJV and the 1662 Book of Common Prayer (Crown rights in the UK).",
        "",
        "| source | tradition | items | licence | why this tag |",
        "|---|---|---|---|---|",
    ]
    seen: dict[tuple[str, str], int] = {}
    for source, _item in selected:
        seen[(source.folder, source.tradition)] = seen.get((source.folder, source.tradition), 0) + 1
    for source in SOURCES:
        count = seen.get((source.folder, source.tradition), 0)
        if count:
            lines.append(f"| `{source.folder}` | {source.tradition} | {count} | {source.licence} | {source.why} |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
