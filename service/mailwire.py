"""The bytes of a message as it goes on the wire or into a Maildir.

Python's header folder (3.11 and 3.12) can lose the space between two words of a
non-ASCII subject: it ends one encoded word, folds, and leaves the space outside
the next encoded word, where RFC 2047 says a reader must ignore it ("체류기간
만료" arrives as "체류기간만료"). Unstructured headers with non-ASCII text are
therefore encoded here: base64 encoded words that each hold whole characters,
spaces included, one per folded line. Every reader joins them back exactly.
"""

from __future__ import annotations

import base64
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import EmailPolicy
from typing import Any

#: RFC 5322's recommended line length; an encoded word may be at most 75 characters.
_LINE = 78
_WORD_OVERHEAD = len("=?utf-8?b??=")
#: Bytes of text per encoded word on a continuation line (" " + word <= 78).
_CONTINUATION_BYTES = (_LINE - 1 - _WORD_OVERHEAD) // 4 * 3


def encoded_words(text: str, first_line_room: int) -> list[str]:
    """``text`` as base64 encoded words, split between characters, never inside one.

    The first word fits in ``first_line_room`` characters (what is left of the line
    after ``Name: ``); the others fit on a line of their own after one space.
    """
    words: list[str] = []
    limit = max(3, (first_line_room - _WORD_OVERHEAD) // 4 * 3)
    chunk = b""
    for char in text:
        encoded = char.encode("utf-8")
        if chunk and len(chunk) + len(encoded) > limit:
            words.append(_word(chunk))
            chunk = b""
            limit = _CONTINUATION_BYTES
        chunk += encoded
    if chunk or not words:
        words.append(_word(chunk))
    return words


def _word(chunk: bytes) -> str:
    return f"=?utf-8?b?{base64.b64encode(chunk).decode('ascii')}?="


class _Registry(HeaderRegistry):
    """HeaderRegistry that builds each header class once.

    The standard registry creates a new class (``type(...)``) for every header
    set; in rendering a message that is a fifth of the time. The classes hold no
    state of their own, so one per header name serves every message.
    """

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        found = self._classes.get(key)
        if found is None:
            found = self._classes[key] = super().__getitem__(name)
        return found


class _WirePolicy(EmailPolicy):
    """EmailPolicy with exact encoding of non-ASCII unstructured headers."""

    def _fold(self, name: str, value: Any, refold_binary: bool = False) -> str:
        text = str(value)
        if isinstance(value, UnstructuredHeader) and not text.isascii():
            # One line per word; the joints are folding white space, which
            # readers drop between encoded words, so the text comes back whole.
            words = encoded_words(text, _LINE - len(name) - 2)
            linesep: str = self.linesep
            return f"{name}: " + f"{linesep} ".join(words) + linesep
        folded: str = super()._fold(name, value, refold_binary=refold_binary)  # type: ignore[misc]
        return folded


#: The policy of every message staywatch builds and writes (SMTP line endings).
WIRE = _WirePolicy(linesep="\r\n", header_factory=_Registry())


def message_bytes(message: EmailMessage, linesep: str = "\r\n") -> bytes:
    """The message serialised for SMTP (``\\r\\n``) or a Maildir file (``\\n``)."""
    return message.as_bytes(policy=WIRE.clone(linesep=linesep))
