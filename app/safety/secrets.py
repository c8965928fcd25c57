"""Keep secret values out of everything a run stores or prints.

A secret is the value of any environment variable whose name contains KEY, TOKEN, SECRET or
PASSWORD, and the password part of any URL in the environment (HARNESS_DATABASE_URL). Error
messages from libraries can echo them (an HTTP client quoting the rejected Authorization header,
a driver quoting its connection string); `scrub` replaces them before they reach a checkpoint,
a trace event or the terminal.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD", re.IGNORECASE)
URL_PASSWORD = re.compile(r"://[^:/@\s]*:([^@\s]+)@")
MIN_SECRET_CHARS = 6
MASK = "[redacted]"


def secret_values(env: Mapping[str, str] | None = None) -> list[str]:
    env = os.environ if env is None else env
    found: set[str] = set()
    for name, value in env.items():
        if SECRET_NAME.search(name) and len(value) >= MIN_SECRET_CHARS:
            found.add(value)
        for match in URL_PASSWORD.finditer(value):
            if len(match.group(1)) >= MIN_SECRET_CHARS:
                found.add(match.group(1))
    return sorted(found, key=len, reverse=True)  # longest first: no partial leftovers


def scrub(value: Any, secrets: list[str] | None = None) -> Any:
    """A copy of `value` (str, or dicts/lists/tuples of them) with every secret masked."""
    secrets = secret_values() if secrets is None else secrets
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value
    if isinstance(value, dict):
        return {k: scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, secrets) for v in value]
    if isinstance(value, tuple):
        return tuple(scrub(v, secrets) for v in value)
    return value
