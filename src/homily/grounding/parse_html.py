"""HTML parser on the stdlib `html.parser`: headings build the path, block elements split paragraphs."""

from __future__ import annotations

from html.parser import HTMLParser

from homily.grounding.document import ParsedDocument, Section, build_document, map_metadata
from homily.grounding.parse_text import decode_text, filename_title

_SKIPPED = frozenset({"script", "style", "noscript", "template", "svg", "head", "nav", "footer", "form", "iframe"})
_BLOCKS = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "main",
        "aside",
        "header",
        "blockquote",
        "pre",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "table",
        "tr",
        "figure",
        "figcaption",
        "address",
        "hr",
        "br",
    }
)
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "embed", "source", "wbr"})
_META_NAMES = {
    "author": "author",
    "description": "summary",
    "keywords": "tags",
    "og:title": "title",
    "og:url": "url",
    "article:published_time": "publication_date",
    "date": "publication_date",
    "dc.date": "publication_date",
    "dc.title": "title",
    "dc.creator": "author",
    "tradition": "tradition",
}


class _SectionCollector(HTMLParser):
    """Streams tags into sections; never raises on malformed markup (html.parser is lenient by design)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[Section] = []
        self.fields: dict[str, object] = {}
        self.page_title = ""
        self._skip_depth = 0
        self._in_title = False
        self._heading_level = 0
        self._heading_text: list[str] = []
        self._path: list[tuple[int, str]] = []
        self._body: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k.lower(): v or "" for k, v in attrs}
        if tag == "meta":
            key = (attributes.get("name") or attributes.get("property") or "").lower()
            if key in _META_NAMES and attributes.get("content"):
                self.fields.setdefault(_META_NAMES[key], attributes["content"])
            return
        if tag == "link" and "canonical" in attributes.get("rel", "").lower() and attributes.get("href"):
            self.fields.setdefault("url", attributes["href"])
            return
        if tag == "title":
            self._in_title = True
            return
        if tag == "body":
            self._skip_depth = 0  # an unclosed <head> must not hide the body
            return
        if tag in _SKIPPED:
            if tag not in _VOID:
                self._skip_depth += 1
            return
        if tag in _HEADINGS and not self._skip_depth:
            self._flush()
            self._heading_level = _HEADINGS[tag]
            self._heading_text = []
        elif tag in _BLOCKS:
            self._body.append("\n\n" if tag != "br" else "\n")
        elif tag in ("td", "th"):
            self._body.append(" | ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _SKIPPED:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _HEADINGS and self._heading_level:
            heading = " ".join("".join(self._heading_text).split())
            level = self._heading_level
            self._heading_level = 0
            if heading:
                while self._path and self._path[-1][0] >= level:
                    self._path.pop()
                self._path.append((level, heading))
        elif tag in _BLOCKS:
            self._body.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.page_title += data
        elif self._skip_depth:
            return
        elif self._heading_level:
            self._heading_text.append(data)
        else:
            self._body.append(data)

    def _flush(self) -> None:
        self.sections.append(Section(tuple(h for _, h in self._path), "".join(self._body)))
        self._body = []

    def finish(self) -> None:
        self.close()
        self._flush()


def parse_html(data: bytes, filename: str) -> ParsedDocument:
    """Body text outside scripts, styles and navigation; `<title>`, meta tags, canonical link as metadata."""
    collector = _SectionCollector()
    collector.feed(decode_text(data))
    collector.finish()
    fields = dict(collector.fields)
    title = " ".join(collector.page_title.split())
    if title:
        fields.setdefault("title", title)
    return build_document(collector.sections, map_metadata(fields), filename_title(filename))
