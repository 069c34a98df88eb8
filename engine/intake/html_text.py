"""HTML mail bodies as plain text an operator can read: no markup, no scripts, no links that run.

The intake item is shown as text (Jinja escapes it), so nothing a sender writes can become
markup in the operator's page; this converter only keeps the words and the line breaks.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = frozenset(
    {
        "p",
        "div",
        "br",
        "li",
        "tr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "table",
        "ul",
        "ol",
        "hr",
        "section",
        "article",
        "header",
        "footer",
    }
)
_SPACES = re.compile(r"[ \t\r\n\f\v]+")
_SKIPPED = frozenset({"script", "style", "head", "title", "noscript", "template", "svg", "object", "iframe"})


class _TextCollector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIPPED:
            self._skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")

    def handle_startendtag(self, tag, attrs):
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in _SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self._skipping:
            self.parts.append(_SPACES.sub(" ", data))  # in HTML a line break in the source is a space


def to_text(html: str) -> str:
    """The readable text of an HTML fragment: paragraphs on their own lines, at most one blank line."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    text = "".join(collector.parts).replace("\xa0", " ")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
