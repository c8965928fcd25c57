"""Text from corpora, models, topics and paths is shown on a terminal as inert text.

Escape sequences (`ESC[8m` hides text, OSC 52 writes the clipboard), other control characters,
bidirectional overrides (which reorder what is shown) and undecodable bytes (lone surrogates
from non-UTF-8 file names) are rendered as visible `\\x1b`-style escapes. Only what is *shown*
is changed: state and the report file keep the author's text as it was approved.
"""

from __future__ import annotations

import os
import re

# C0 and C1 controls except newline and tab, DEL, bidi embeddings/overrides/isolates and marks,
# zero-width joiners used for spoofing, and lone surrogates.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e"
    "\u2066-\u2069\ufeff\ud800-\udfff]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def sanitize(text: object) -> str:
    """`text` as a string that cannot change the terminal: controls shown as escapes."""
    if isinstance(text, bytes):  # a non-UTF-8 file name kept as bytes
        text = os.fsdecode(text)
    return _UNSAFE.sub(_escape, text if isinstance(text, str) else str(text))
