# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Escape hostile strings for each output medium: Markdown, terminal, file names.

Paths, user names and messages come from hosts that may be compromised: nothing they contain may format a report,
move a terminal's cursor or pick a file outside the store.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote, unquote

# Unicode categories that are invisible or reorder text: controls, format (bidi overrides, zero-width), separators.
_UNSAFE_CATEGORIES = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp", "Co", "Cn"))
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_MD_SPECIAL = {
    "\\": "\\\\",
    "`": "\\`",
    "*": "\\*",
    "_": "\\_",
    "[": "\\[",
    "]": "\\]",
    "|": "\\|",
    "~": "\\~",
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
}
_MD_LEADING = re.compile(r"^([#+\-=!])")
_MD_ORDERED = re.compile(r"^(\d+)([.)])")
_STAMP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MAX_FILENAME = 200


def _visible(char: str) -> str:
    """Return the printable escape of one unsafe character (``\\x1b``, ``\\u202e``; surrogate escapes as bytes)."""
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, carried by Python's surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _unsafe(char: str) -> bool:
    return unicodedata.category(char) in _UNSAFE_CATEGORIES


def truncate(text: str, limit: int | None) -> str:
    """Cut ``text`` to ``limit`` characters, saying how many were left out."""
    if limit is None or len(text) <= limit:
        return text
    return f"{text[:limit]}…(+{len(text) - limit} chars)"


def terminal(value: object, limit: int | None = None) -> str:
    """Render ``value`` for a terminal on one line: every control character (C0, DEL, C1 such as CSI ``\\x9b``),
    bidi override and line separator is shown as an escape, never emitted raw."""
    text = truncate("" if value is None else str(value), limit)
    return "".join(_visible(c) if _unsafe(c) else c for c in text)


def markdown(value: object, limit: int | None = None) -> str:
    """Render ``value`` as inert Markdown inline text, safe in a table cell, a list item or a heading.

    Markdown punctuation and ``|`` are backslash-escaped, HTML ``<``, ``>``, ``&`` become entities (so ``<script>``
    shows as text), line breaks become ``<br>``, other control characters are shown as escapes (``\\x1b``).
    """
    text = truncate("" if value is None else str(value), limit)
    text = text.replace("\r\n", "\n")
    out = []
    for char in text:
        if char in ("\n", "\r"):
            out.append("<br>")
        elif _unsafe(char):
            out.append(_visible(char).replace("\\", "\\\\"))
        else:
            out.append(_MD_SPECIAL.get(char, char))
    text = _MD_LEADING.sub(r"\\\1", "".join(out))
    return _MD_ORDERED.sub(r"\1\\\2", text)


def host_to_filename(host: str) -> str:
    """Escape a host name into a safe, reversible file name: ASCII letters, digits, ``_.-~`` stay, every other byte
    is percent-encoded (``%2F`` for ``/``), a leading dot too, so no name is hidden, ``.``, ``..`` or a path."""
    if not isinstance(host, str) or not host:
        raise ValueError(f"not a host name: {host!r}")
    name = quote(host, safe="", errors="surrogateescape")
    if name.startswith("."):
        name = "%2E" + name[1:]
    if len(name) > MAX_FILENAME:
        raise ValueError(f"host name too long for a file name ({len(name)} > {MAX_FILENAME} escaped characters)")
    return name


def filename_to_host(name: str) -> str | None:
    """Invert :func:`host_to_filename`; ``None`` for a name it cannot have produced (temporary or foreign files)."""
    try:
        host = unquote(name, errors="surrogateescape")
        return host if host and host_to_filename(host) == name else None
    except ValueError:
        return None


def safe_stamp(stamp: str) -> str:
    """Check that a report stamp is a plain file name component (``20260102T030405Z``)."""
    if not isinstance(stamp, str) or not _STAMP.match(stamp) or len(stamp) > MAX_FILENAME:
        raise ValueError(f"not a safe report stamp: {stamp!r}")
    return stamp
