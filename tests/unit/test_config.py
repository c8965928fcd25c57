import pytest

from app.config import Settings
from app.errors import InputError


def test_openai_variables_are_the_fallback_and_the_key_is_never_shown():
    s = Settings.from_env({"OPENAI_BASE_URL": "http://x/v1", "OPENAI_API_KEY": "sk-secret-123"})
    assert s.base_url == "http://x/v1"
    assert s.uses_model
    assert "sk-secret-123" not in repr(s) and "sk-secret-123" not in str(s.public())
    assert s.public()["api_key"] == "set"


def test_harness_variables_win_over_openai_ones():
    s = Settings.from_env({"HARNESS_BASE_URL": "http://mine/v1", "OPENAI_BASE_URL": "http://x/v1"})
    assert s.base_url == "http://mine/v1"


def test_bad_numbers_are_clear_errors():
    with pytest.raises(InputError, match="retry_attempts"):
        Settings.from_env({"HARNESS_RETRY_ATTEMPTS": "many"})
    with pytest.raises(InputError, match="max_revisions"):
        Settings.from_env({"HARNESS_MAX_REVISIONS": "-1"})


def test_reports_go_under_home_by_default(tmp_path):
    assert Settings(home=tmp_path).reports_root == (tmp_path / "reports").resolve()
