import json
import os

import pytest

from app.config import SAMPLE_CORPUS
from app.errors import InputError
from app.research.sections import split_sections
from app.research.sources import (
    check_folder,
    open_sources,
    parse_documents,
    read_sources_file,
)


def corpus_index(folder, home):
    return open_sources({"kind": "corpus", "path": str(folder)}, SAMPLE_CORPUS, home)


def test_sample_corpus_becomes_titled_sections_with_stable_ids(tmp_path):
    index = open_sources(None, SAMPLE_CORPUS, tmp_path)
    assert index.note == "read all 12 files"
    [(section, _score)] = index.search("refrigerant global warming potential", k=1)
    assert section.id == (
        "05-refrigerants-and-gwp#heat-pump-refrigerants-and-global-warming-potential"
    )
    assert section.doc_title == "Heat Pump Refrigerants and Global-Warming Potential"


def test_search_ranks_and_returns_nothing_for_absent_words(tmp_path):
    index = open_sources(None, SAMPLE_CORPUS, tmp_path)
    hits = index.search("defrost cycle ice on the outdoor coil")
    assert hits[0][0].doc_id == "08-defrost-cycles"
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    assert index.search("quantum chromodynamics") == []
    assert index.search("   ") == []


def test_headings_split_documents_into_sections_with_unique_slugs():
    markdown = "# Guide\n\nIntro text here.\n\n## Setup\n\nDo this.\n\n## Setup\n\nAnd that.\n"
    sections = split_sections("guide", "Guide", markdown)
    assert [s.id for s in sections] == ["guide#guide", "guide#setup", "guide#setup-2"]
    assert sections[1].title == "Guide — Setup" and sections[1].text == "Do this."


def test_stemming_and_acronyms_find_the_page_in_either_form(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "wal.md").write_text(
        "# Write-Ahead Logging\n\nThe write-ahead log (WAL) records changes before they are "
        "applied to the database file.\n"
    )
    (docs / "locks.md").write_text("# Locking\n\nReaders take a shared lock on the file.\n")
    (docs / "other.md").write_text("# Backups\n\nThe WAL file is copied with the database.\n")
    index = corpus_index(docs, tmp_path / "home")
    assert index.search("write-ahead logging")[0][0].doc_id == "wal"
    assert index.search("what is WAL?")[0][0].doc_id == "wal"
    assert index.acronyms == {"wal": "write ahead log"}


def test_html_pdf_and_docx_are_converted_and_skipped_files_are_named(tmp_path):
    from docx import Document as Docx
    from reportlab.pdfgen import canvas

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "page.html").write_text(
        "<html><head><title>Page</title></head><body><nav>Home | Index | Search</nav>"
        "<main><h1>Boilers</h1><p>A condensing boiler recovers heat from its flue gases.</p>"
        "</main></body></html>"
    )
    pdf = canvas.Canvas(str(docs / "report.pdf"))
    pdf.drawString(72, 720, "Ground loops are drilled between fifty and one hundred metres deep.")
    pdf.save()
    word = Docx()
    word.add_heading("Radiators", level=1)
    word.add_paragraph("Larger radiators let a heat pump run at a lower flow temperature.")
    word.save(str(docs / "notes.docx"))
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (docs / "logo.png").write_bytes(b"\x89PNG\r\n")
    (docs / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")

    index = corpus_index(docs, tmp_path / "home")
    assert index.search("condensing boiler flue")[0][0].id == "page#boilers"
    assert "navigation" not in index.search("condensing boiler")[0][0].text
    assert index.search("Home Index Search") == []  # the page's navigation is not content
    assert index.search("ground loops drilled")[0][0].doc_id == "report"
    assert index.search("radiators flow temperature")[0][0].id == "notes#radiators"
    assert index.note.startswith("read 4 of 6 files; skipped 2:")
    assert "unsupported type .png (logo.png)" in index.note
    assert "broken.pdf" in index.note and "PDF conversion failed" in index.note


def test_a_folder_with_nothing_readable_is_one_clear_error(tmp_path):
    only_bad = tmp_path / "bad"
    only_bad.mkdir()
    (only_bad / "x.png").write_bytes(b"\x00\xff")
    with pytest.raises(InputError, match=r"no \.md, \.txt, \.html.*1 unsupported type \.png"):
        check_folder(only_bad)
    (only_bad / "x.md").write_bytes(b"\x00\xff")
    with pytest.raises(InputError, match="no readable text.*binary content"):
        corpus_index(only_bad, tmp_path / "home")


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda p: p / "missing", "not found"),
        (lambda p: (p / "f.md").write_text("x") and p / "f.md", "not a folder"),
        (lambda p: p, "no .md, .txt"),
    ],
)
def test_bad_corpus_folders_get_clear_errors(tmp_path, setup, message):
    with pytest.raises(InputError, match=message):
        check_folder(setup(tmp_path))


def test_the_index_is_built_once_reused_and_updated_only_for_changed_files(tmp_path, reads):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("a", "b", "c"):
        (docs / f"{name}.md").write_text(f"# {name.upper()}\n\nHeat pumps note {name} here.\n")
    home = tmp_path / "home"
    read = reads
    corpus_index(docs, home)
    assert sorted(read) == ["a.md", "b.md", "c.md"]
    corpus_index(docs, home)  # same content: opened, nothing read
    assert len(read) == 3
    (docs / "b.md").write_text("# B\n\nHeat pumps changed note here.\n")
    os.utime(docs / "b.md", ns=(1, 1))
    (docs / "c.md").unlink()
    index = corpus_index(docs, home)
    assert read[3:] == ["b.md"]  # only the changed file is converted again
    assert {s.doc_id for s, _ in index.search("heat pumps note", k=10)} == {"a", "b"}
    assert index.search("changed")[0][0].doc_id == "b"
    assert len(list((home / "index").iterdir())) == 1


def test_relative_and_symlinked_corpus_paths_index_like_the_real_folder(tmp_path, monkeypatch):
    real = tmp_path / "real" / "notes"
    real.mkdir(parents=True)
    (real / "a.md").write_text("# Alpha\nHeat pumps move heat.\n")
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "real")
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "home"
    expected = [(s.id, s.title) for s, _ in corpus_index(real, home).search("heat pumps")]
    assert expected == [("a#alpha", "Alpha")]
    for given in ("real/notes", link / "notes", "link/notes/"):
        assert check_folder(given) == real.resolve()
        assert [(s.id, s.title) for s, _ in corpus_index(given, home).search("heat")] == expected


def test_sources_json_is_validated(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps([{"title": "Heat pumps", "content": "They move heat."}]))
    assert read_sources_file(good) == [{"title": "Heat pumps", "content": "They move heat."}]

    for text, message in [
        ("{not json", "not valid JSON"),
        ("[]", "non-empty JSON list"),
        ('{"title": "x"}', "non-empty JSON list"),
        ('[{"title": "x"}]', "content"),
        ('[{"title": "", "content": "y"}]', "title"),
        ('["text"]', "not an object"),
    ]:
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        with pytest.raises(InputError, match=message):
            read_sources_file(bad)
    with pytest.raises(InputError, match="not found"):
        read_sources_file(tmp_path / "nope.json")


def test_inline_documents_get_stable_ids_and_an_in_memory_index(tmp_path):
    docs = parse_documents([{"title": "A", "content": "a"}, {"title": "B", "content": "b"}], "x")
    assert [d.source_id for d in docs] == ["doc-1", "doc-2"]
    spec = {"kind": "inline", "documents": [{"title": "Pumps", "content": "Heat pumps move heat."}]}
    index = open_sources(spec, SAMPLE_CORPUS, tmp_path)
    assert index.search("heat")[0][0].id == "doc-1#pumps"
    assert not (tmp_path / "index").exists()


def test_hidden_files_and_symlinked_folders_are_named_not_silently_dropped(tmp_path):
    docs = tmp_path / "docs"
    (docs / ".git").mkdir(parents=True)
    (docs / ".git" / "config").write_text("[core]\n")
    (docs / ".notes.md").write_text("# Hidden\n\nA hidden note about heat pumps.\n")
    (docs / "a.md").write_text("# A\n\nHeat pumps move heat.\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "b.md").write_text("# B\n\nMore heat pumps.\n")
    (docs / "linked").symlink_to(elsewhere)
    note = corpus_index(docs, tmp_path / "home").note
    assert note.startswith("read 1 of 4 files; skipped 3:")
    assert "1 hidden folder (.git/)" in note and "1 hidden file (.notes.md)" in note
    assert "1 symlinked folder (not followed) (linked/)" in note
