"""Keep secret values out of everything a run stores or prints, without redacting words.

Two layers:
- `scrub` (everything stored: state, trace events, inline sources, decisions): the values of
  environment variables named like credentials (KEY, TOKEN, SECRET, PASSWORD) that *look* like
  credentials, their base64 `user:password` forms (HTTP Basic auth), and every password in a
  URL. A value that is a plain word (`OPENAI_API_KEY=ollama`, common for local servers) is not a
  credential worth hiding and would turn every "ollama" in a report into `[redacted]`: it is
  masked only where it stands in a credential position (see below), never as a word in text.
- `scrub_message` (error messages from libraries, which can quote what they were sent): the
  above, plus whatever stands in a credential position - `Bearer X`, `Basic X`,
  `api_key=X`, `password: X`, `://user:X@` - whatever X is.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
URL_USERINFO = re.compile(r"://([^:/@\s]*):([^@\s/]+)@")
MIN_SECRET_CHARS = 6
MASK = "[redacted]"
# Credential positions in messages: an auth scheme, or a credential-named field, and its value.
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer|basic)(\s+)([A-Za-z0-9._~+/=-]{3,})")
_CREDENTIAL_FIELD = re.compile(
    r"(?i)\b(api[_-]?key|access[_-]?token|auth[_-]?token|secret|password|passwd|pwd)"
    r"(['\"]?\s*[:=]\s*['\"]?)([^\s'\",;&)}\]]{3,})"
)


def looks_like_credential(value: str) -> bool:
    """A random-looking token, not a word: long enough, no spaces, and not only letters
    (or long enough that it cannot be a word)."""
    if len(value) < MIN_SECRET_CHARS or any(c.isspace() for c in value):
        return False
    return len(value) >= 20 or not value.isalpha()


def _basic_forms(user: str, password: str) -> set[str]:
    pair = f"{unquote(user)}:{unquote(password)}".encode()
    return {base64.b64encode(pair).decode(), base64.urlsafe_b64encode(pair).decode()}


# The process environment's secrets, with the raw environment they were found in: scanning it
# costs ~0.2 ms and `scrub` runs for every trace event, while comparing a snapshot costs ~1 us.
# Any change to os.environ (a new key, between two runs in one process) makes a new snapshot.
_cached: tuple[tuple, list[str]] = ((), [])


def secret_values(env: Mapping[str, str] | None = None) -> list[str]:
    global _cached
    if env is not None:
        return _scan(env)
    snapshot = tuple(os.environ._data.items())  # type: ignore[attr-defined]  # raw, undecoded
    if snapshot != _cached[0]:
        _cached = (snapshot, _scan(os.environ))
    return _cached[1]


def _scan(env: Mapping[str, str]) -> list[str]:
    found: set[str] = set()
    for name, value in env.items():
        if SECRET_NAME.search(name) and looks_like_credential(value):
            found.add(value)
        for match in URL_USERINFO.finditer(value):
            user, password = match.groups()
            if len(password) >= 3:
                found.update({password, unquote(password), *_basic_forms(user, password)})
    return sorted(found, key=len, reverse=True)  # longest first: no partial leftovers


def _mask_url_passwords(text: str) -> str:
    # A password already masked (`doctor` shows `user:***@`) is left as it is.
    return URL_USERINFO.sub(
        lambda m: m.group(0) if m.group(2) in ("***", MASK) else f"://{m.group(1)}:{MASK}@", text
    )


def scrub(value: Any, secrets: list[str] | None = None) -> Any:
    """A copy of `value` (str, or dicts/lists/tuples of them) with every secret masked."""
    secrets = secret_values() if secrets is None else secrets
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return _mask_url_passwords(value) if "://" in value else value
    if isinstance(value, dict):
        return {k: scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, secrets) for v in value]
    if isinstance(value, tuple):
        return tuple(scrub(v, secrets) for v in value)
    return value


def scrub_message(text: str) -> str:
    """An error message with known secrets and anything in a credential position masked."""
    text = scrub(text)
    text = _AUTH_SCHEME.sub(
        lambda m: f"{m.group(1)}{m.group(2)}{MASK}"
        if m.group(1).lower() == "bearer" or looks_like_credential(m.group(3))
        else m.group(0),
        text,
    )
    return _CREDENTIAL_FIELD.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
