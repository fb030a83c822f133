# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Lossless text form of file system paths (private to the collection).

Linux paths are bytes. Modules return JSON text, so every path they report goes through :func:`path_to_text`:

- bytes that are not part of valid UTF-8 are written as ``\\xNN`` (two lower-case hex digits);
- control characters (0x00-0x1f, 0x7f) are written as ``\\xNN`` too (a newline is ``\\x0a``);
- a backslash is written as ``\\\\`` (two backslashes);
- everything else (printable ASCII, valid UTF-8 characters) is written as is.

:func:`text_to_path` is the exact inverse, so ``text_to_path(path_to_text(b)) == b`` for every ``bytes`` value.
"""

from __future__ import annotations

import re

_PLAIN = re.compile(r"[\x20-\x5b\x5d-\x7e]*\Z")  # printable ASCII without backslash: text form == input
_ESCAPE = re.compile(r"\\(\\|x[0-9a-fA-F]{2})")


def path_to_text(path):
    """Return the text form of ``path`` (bytes, or str as returned by ``os.fsdecode``)."""
    if isinstance(path, str):
        path = path.encode("utf-8", "surrogateescape")
    text = path.decode("utf-8", "surrogateescape")
    if _PLAIN.match(text):
        return text
    out = []
    for char in text:
        code = ord(char)
        if code < 0x20 or code == 0x7F:
            out.append("\\x%02x" % code)
        elif 0xDC80 <= code <= 0xDCFF:  # an undecodable byte carried by surrogateescape
            out.append("\\x%02x" % (code - 0xDC00))
        elif char == "\\":
            out.append("\\\\")
        else:
            out.append(char)
    return "".join(out)


def text_to_path(text):
    """Return the bytes path written as ``text`` by :func:`path_to_text`.

    A backslash that does not start ``\\\\`` or ``\\xNN`` is kept literally, so hand-written plain paths work too.
    """
    if "\\" not in text:
        return text.encode("utf-8", "surrogateescape")
    out = bytearray()
    pos = 0
    for match in _ESCAPE.finditer(text):
        out += text[pos : match.start()].encode("utf-8", "surrogateescape")
        token = match.group(1)
        out += b"\\" if token == "\\" else bytes((int(token[1:], 16),))
        pos = match.end()
    out += text[pos:].encode("utf-8", "surrogateescape")
    return bytes(out)
