import hashlib

from app.safety.report_writer import write_report_once


def test_report_is_written_atomically_with_its_hash(tmp_path):
    target = tmp_path / "reports" / "r.md"
    record = write_report_once(target, "# Report\n")
    assert target.read_text() == "# Report\n"
    assert record == {
        "path": str(target),
        "bytes": 9,
        "sha256": hashlib.sha256(b"# Report\n").hexdigest(),
        "already_written": False,
    }
    assert [p.name for p in target.parent.iterdir()] == ["r.md"]  # no temp files left


def test_writing_the_same_report_again_does_not_write_twice(tmp_path):
    target = tmp_path / "r.md"
    write_report_once(target, "# Same\n")
    mtime = target.stat().st_mtime_ns
    again = write_report_once(target, "# Same\n")
    assert again["already_written"] is True
    assert target.stat().st_mtime_ns == mtime


def test_different_bytes_never_overwrite_an_existing_report(tmp_path):
    target = tmp_path / "r.md"
    write_report_once(target, "# First\n")
    second = write_report_once(target, "# Second branch\n")
    assert target.read_text() == "# First\n"
    assert second["path"] == str(tmp_path / "r-2.md")
    assert (tmp_path / "r-2.md").read_text() == "# Second branch\n"
