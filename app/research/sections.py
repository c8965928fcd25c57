"""Documents split into sections by their Markdown headings, each with a stable id
`doc_id#section-slug`: search, evidence and citations work on sections, not whole documents."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A section longer than this is cut at paragraph boundaries into parts (`slug`, `slug-part-2`):
# one huge section (a site map, an index page) must not become one unit of evidence.
MAX_SECTION_CHARS = 6000
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
# A Markdown code fence opening or closing line (also used by evidence.py to drop code).
FENCE = re.compile(r"^\s*(```|~~~)")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\((?:[^()\s]|\([^)]*\))*(?:\s+\"[^\"]*\")?\)")
_AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")
_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC = re.compile(r"(?<![\w*\\])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*\\])\*(?![\w*])")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>|~])")
_SLUG_DROP = re.compile(r"[^a-z0-9]+")
# A character every pattern above needs: a line without one has nothing to clean (most prose).
_MARKUP = re.compile(r"[\[<*_\\]")


@dataclass(frozen=True)
class Section:
    id: str
    doc_id: str
    doc_title: str
    heading: str
    text: str

    @property
    def title(self) -> str:
        """What a reader sees in Sources: the document, and the section when it is not the
        document's own heading."""
        if not self.heading or self.heading == self.doc_title:
            return self.doc_title
        return f"{self.doc_title} — {self.heading}"


def slugify(text: str) -> str:
    return _SLUG_DROP.sub("-", text.lower()).strip("-")[:60].strip("-") or "section"


def clean_inline(line: str) -> str:
    """Markdown links and images reduced to their text, bold markers and escapes removed."""
    if not _MARKUP.search(line):
        return line
    line = _IMAGE.sub("", line)
    line = _LINK.sub(r"\1", line)
    line = _AUTOLINK.sub(r"\1", line)
    line = _EMPHASIS.sub(r"\2", line)
    line = _ITALIC.sub(r"\1", line)
    return _ESCAPE.sub(r"\1", line)


def document_title(markdown: str, fallback: str) -> str:
    """The first heading (a page's H1 is cleaner than its <title>), else the fallback."""
    in_code = False
    for line in markdown.splitlines():
        if FENCE.match(line):
            in_code = not in_code
        elif not in_code and (match := _HEADING.match(line)):
            return clean_inline(match.group(2)).strip() or fallback
    return fallback


def split_sections(doc_id: str, doc_title: str, markdown: str) -> list[Section]:
    """Sections in document order; text before the first heading belongs to the document's
    opening section. Empty sections (a heading directly followed by another) are left out."""
    chunks: list[tuple[str, list[str]]] = [(doc_title, [])]
    in_code = False
    for raw in markdown.splitlines():
        if FENCE.match(raw):
            in_code = not in_code
        match = None if in_code else _HEADING.match(raw)
        if match:
            chunks.append((clean_inline(match.group(2)).strip() or doc_title, []))
        else:
            chunks[-1][1].append(raw if in_code else clean_inline(raw))
    sections: list[Section] = []
    used: dict[str, int] = {}
    for heading, lines in chunks:
        text = "\n".join(lines).strip()
        if not text:
            continue
        for n, part in enumerate(_parts(text), start=1):
            slug = slugify(heading) + (f"-part-{n}" if n > 1 else "")
            used[slug] = used.get(slug, 0) + 1
            if used[slug] > 1:
                slug = f"{slug}-{used[slug]}"
            sections.append(Section(f"{doc_id}#{slug}", doc_id, doc_title, heading, part))
    return sections


def _parts(text: str) -> list[str]:
    if len(text) <= MAX_SECTION_CHARS:
        return [text]
    parts, current = [], ""
    for paragraph in re.split(r"\n\s*\n", text):
        if current and len(current) + len(paragraph) > MAX_SECTION_CHARS:
            parts.append(current.strip())
            current = ""
        current += paragraph + "\n\n"
    if current.strip():
        parts.append(current.strip())
    return parts
