"""Settings from the environment (and overrides from callers). Secrets stay SecretStr."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, ValidationError

from app.errors import InputError

SAMPLE_CORPUS = Path(__file__).parent / "data" / "sample_corpus"


class Settings(BaseModel):
    model: str | None = None
    base_url: str | None = None
    api_key: SecretStr | None = None
    home: Path = Path(".harness")
    database_url: str | None = None
    corpus: Path = SAMPLE_CORPUS
    output_root: Path | None = None
    policy_file: Path | None = None
    price_table: Path | None = None
    retry_attempts: int = Field(default=3, ge=1, le=10)
    retry_initial_interval: float = Field(default=0.2, ge=0)
    max_revisions: int = Field(default=2, ge=0, le=20)
    model_timeout: float = Field(default=60.0, gt=0)
    model_max_tokens: int = Field(default=1024, ge=16)

    @property
    def reports_root(self) -> Path:
        return (self.output_root or self.home / "reports").resolve()

    @property
    def sqlite_path(self) -> Path:
        return self.home / "harness.sqlite"

    @property
    def uses_model(self) -> bool:
        return bool(self.model or self.base_url)

    def public(self) -> dict[str, object]:
        """What `doctor` and traces may show: never the key itself."""
        data = self.model_dump(mode="json", exclude={"api_key"})
        data["api_key"] = "set" if self.api_key else "not set"
        data["reports_root"] = str(self.reports_root)
        return data

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if env is None else env

        def pick(*names: str) -> str | None:
            for name in names:
                if env.get(name):
                    return env[name]
            return None

        raw: dict[str, object] = {
            "model": pick("HARNESS_MODEL"),
            "base_url": pick("HARNESS_BASE_URL", "OPENAI_BASE_URL"),
            "api_key": pick("HARNESS_API_KEY", "OPENAI_API_KEY"),
            "home": pick("HARNESS_HOME"),
            "database_url": pick("HARNESS_DATABASE_URL"),
            "corpus": pick("HARNESS_CORPUS"),
            "output_root": pick("HARNESS_OUTPUT_ROOT"),
            "policy_file": pick("HARNESS_POLICY_FILE"),
            "price_table": pick("HARNESS_PRICE_TABLE"),
            "retry_attempts": pick("HARNESS_RETRY_ATTEMPTS"),
            "retry_initial_interval": pick("HARNESS_RETRY_INTERVAL"),
            "max_revisions": pick("HARNESS_MAX_REVISIONS"),
            "model_timeout": pick("HARNESS_MODEL_TIMEOUT"),
            "model_max_tokens": pick("HARNESS_MODEL_MAX_TOKENS"),
        }
        raw.update(overrides)
        try:
            return cls(**{k: v for k, v in raw.items() if v is not None})
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise InputError(f"invalid setting {field}: {first['msg']}") from None


def read_user_file(path: Path, what: str, limit: int) -> str:
    """The UTF-8 text of a file a user named (a policy, sources or edit file), refusing what
    is not a regular file (a FIFO would block, /dev/zero never ends) or larger than `limit`,
    before reading it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError(f"cannot read {what} {path}: not found") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InputError(f"cannot read {what} {path}: it is a folder")
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"cannot read {what} {path}: not a regular file")
        if info.st_size > limit:
            raise InputError(f"cannot read {what} {path}: larger than {limit:,} bytes")
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise InputError(f"cannot read {what} {path}: {exc.strerror}") from None
    if len(data) > limit:
        raise InputError(f"cannot read {what} {path}: larger than {limit:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"cannot read {what} {path}: not UTF-8 text") from None
