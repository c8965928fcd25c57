import json

import pytest

from app.config import SAMPLE_CORPUS
from app.errors import InputError
from app.research.sources import (
    SearchIndex,
    load_folder,
    parse_documents,
    read_sources_file,
    tokenize,
)


def test_sample_corpus_loads_a_dozen_titled_documents():
    docs = load_folder(SAMPLE_CORPUS)
    assert len(docs) == 12
    assert all(d.title and d.text.strip() for d in docs)
    assert "01-how-heat-pumps-work" in {d.source_id for d in docs}


def test_bm25_ranks_the_document_about_the_query_first():
    index = SearchIndex(load_folder(SAMPLE_CORPUS))
    hits = index.search("refrigerant global warming potential")
    assert hits[0][0].source_id == "05-refrigerants-and-gwp"
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def test_search_returns_nothing_for_words_no_document_contains():
    index = SearchIndex(load_folder(SAMPLE_CORPUS))
    assert index.search("quantum chromodynamics") == []
    assert index.search("   ") == []


def test_binary_and_empty_files_are_skipped_but_a_folder_of_only_them_is_an_error(tmp_path):
    (tmp_path / "good.md").write_text("# Good\n\nHeat pumps move heat from outside to inside.")
    (tmp_path / "binary.md").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "empty.txt").write_text("   \n")
    assert [d.source_id for d in load_folder(tmp_path)] == ["good"]

    only_bad = tmp_path / "bad"
    only_bad.mkdir()
    (only_bad / "x.md").write_bytes(b"\x00\xff")
    with pytest.raises(InputError, match="no readable text documents"):
        load_folder(only_bad)


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda p: p / "missing", "not found"),
        (lambda p: (p / "f.md").write_text("x") and p / "f.md", "not a folder"),
        (lambda p: p, "no .md or .txt files"),
    ],
)
def test_bad_corpus_folders_get_clear_errors(tmp_path, setup, message):
    with pytest.raises(InputError, match=message):
        load_folder(setup(tmp_path))


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


def test_inline_documents_get_stable_ids():
    docs = parse_documents([{"title": "A", "content": "a"}, {"title": "B", "content": "b"}], "x")
    assert [d.source_id for d in docs] == ["doc-1", "doc-2"]


def test_tokenize_drops_stopwords_and_keeps_hyphenated_terms():
    assert tokenize("How does a ground-source heat pump work?") == [
        "ground-source",
        "heat",
        "pump",
        "work",
    ]


def test_relative_and_symlinked_corpus_paths_load_like_the_real_folder(tmp_path, monkeypatch):
    real = tmp_path / "real" / "notes"
    real.mkdir(parents=True)
    (real / "a.md").write_text("# Alpha\nHeat pumps move heat.\n")
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "real")
    monkeypatch.chdir(tmp_path)
    expected = [(d.source_id, d.title) for d in load_folder(real)]
    assert expected == [("a", "Alpha")]
    assert [(d.source_id, d.title) for d in load_folder("real/notes")] == expected
    assert [(d.source_id, d.title) for d in load_folder(link / "notes")] == expected
    assert [(d.source_id, d.title) for d in load_folder("link/notes/")] == expected
