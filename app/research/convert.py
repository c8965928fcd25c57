"""Turn one corpus file into Markdown: .md/.txt are read as text; .pdf and .docx go through
markitdown (Microsoft's converter: pdfminer for PDF, mammoth for DOCX); .html/.htm through the
same stack markitdown uses for HTML (BeautifulSoup + markdownify), called directly so the page is
parsed once. The converters are imported only when such a file is converted: a warm index never
pays for them.

HTML pages from documentation sites carry navigation (sidebars, breadcrumbs, tables of contents)
that is not content; only the page's main element is converted when it has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TEXT_SUFFIXES = (".md", ".markdown", ".txt")
HTML_SUFFIXES = (".html", ".htm")
CONVERTED_SUFFIXES = (*HTML_SUFFIXES, ".pdf", ".docx")
SUPPORTED_SUFFIXES = (*TEXT_SUFFIXES, *CONVERTED_SUFFIXES)
MAX_FILE_BYTES = 20_000_000
MAX_TEXT_BYTES = 2_000_000  # a Markdown/text file larger than this is not prose notes
MAX_TERM_HEADING = 100
# Not content: navigation and page chrome that documentation generators put around it.
_CHROME_TAGS = ["script", "style", "nav", "header", "footer", "noscript", "form", "button"]
_CHROME_SELECTORS = (
    "[role=navigation],[role=search],[role=banner],[role=contentinfo],"
    ".sphinxsidebar,.related,.footer,.headerlink,.breadcrumbs,.toc,#toc"
)
_MAIN_SELECTORS = "main,[role=main],article"


class Unreadable(Exception):
    """The file cannot be turned into text; the message says why (one short clause)."""


@dataclass(frozen=True)
class Converted:
    title: str | None
    markdown: str


def convert_file(path: Path) -> Converted:
    suffix = path.suffix.lower()
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise Unreadable(f"larger than {MAX_FILE_BYTES // 1_000_000} MB")
        data = path.read_bytes()
    except OSError as exc:
        raise Unreadable(exc.strerror or str(exc)) from None
    if suffix in TEXT_SUFFIXES:
        if size > MAX_TEXT_BYTES:
            raise Unreadable(f"text file larger than {MAX_TEXT_BYTES // 1_000_000} MB")
        return Converted(None, _decode_text(data))
    if suffix in HTML_SUFFIXES:
        return _convert_html(data)
    return _convert_binary(path, suffix)


def _decode_text(data: bytes) -> str:
    if b"\x00" in data:
        raise Unreadable("binary content")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Unreadable("not UTF-8 text") from None


def _convert_html(data: bytes) -> Converted:
    from bs4 import BeautifulSoup
    from markdownify import MarkdownConverter

    soup = BeautifulSoup(data, "lxml")
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    for tag in soup(_CHROME_TAGS):
        tag.decompose()
    for tag in soup.select(_CHROME_SELECTORS):
        tag.decompose()
    main = soup.select_one(_MAIN_SELECTORS) or soup.body or soup
    # API references (Sphinx, Javadoc-like pages) describe each function under an anchored
    # <dt id="module.name">: make it a heading, so each entry becomes its own section.
    for term in main.select("dt[id]"):
        heading = soup.new_tag("h4")
        label = " ".join(term.get_text("").split())
        heading.string = label if 0 < len(label) <= MAX_TERM_HEADING else term["id"]
        term.replace_with(heading)
    try:
        # markdownify is what markitdown's HTML converter runs; called on the cleaned tree
        # directly, the page is parsed once instead of twice (a third of the build time).
        markdown = MarkdownConverter(heading_style="ATX", bullets="-").convert_soup(main)
    except RecursionError:
        markdown = main.get_text("\n", strip=True)  # absurdly deep nesting: keep the text
    except Exception as exc:  # noqa: BLE001 - a parser's own error: the file is named, not fatal
        raise Unreadable(f"HTML conversion failed ({type(exc).__name__})") from None
    return Converted(title or None, markdown)


def _convert_binary(path: Path, suffix: str) -> Converted:
    # The format's own converter, not MarkItDown's chain: the chain falls back to reading a
    # damaged PDF as plain text, which would index garbage instead of naming the file.
    from markitdown import StreamInfo
    from markitdown.converters import DocxConverter, PdfConverter

    converter = PdfConverter() if suffix == ".pdf" else DocxConverter()
    try:
        with path.open("rb") as stream:
            result = converter.convert(stream, StreamInfo(extension=suffix, local_path=str(path)))
    except Exception as exc:  # a damaged file: the parser's own error type says what failed
        reason = type(exc).__name__
        raise Unreadable(f"{suffix[1:].upper()} conversion failed ({reason})") from None
    return Converted(result.title or None, result.markdown)
