# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The journal export format parser: text and binary fields, cut anywhere."""

from __future__ import annotations

import io

import pytest

from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.export import export_entries


def test_export_parser_reads_binary_fields():
    payload = b"multi\nline\x00binary"
    stream = io.BytesIO(
        b"__REALTIME_TIMESTAMP=1759276800000000\n_BOOT_ID=aa\nMESSAGE\n"
        + len(payload).to_bytes(8, "little")
        + payload
        + b"\nPRIORITY=6\n\n__REALTIME_TIMESTAMP=1759276801000000\n_BOOT_ID=bb\nMESSAGE=plain\n\n"
    )
    entries = list(export_entries(stream, size=7))
    assert entries == [
        {b"__REALTIME_TIMESTAMP": b"1759276800000000", b"_BOOT_ID": b"aa", b"MESSAGE": payload, b"PRIORITY": b"6"},
        {b"__REALTIME_TIMESTAMP": b"1759276801000000", b"_BOOT_ID": b"bb", b"MESSAGE": b"plain"},
    ]


@pytest.mark.parametrize("payload", [b"x\n\nMESSAGE=forged\n\n\x00", b"0123456\n\n9"])  # the second: length 10, "\n"
@pytest.mark.parametrize("size", [5, 64, 1 << 20])
def test_export_parser_text_entries_then_a_binary_one(size, payload):
    """Whole text entries are split at once; from the block holding a binary field on, fields are read one by one:
    every entry comes out once, whatever the read size, including one whose data holds a blank line and '='."""
    entries = [
        {b"__REALTIME_TIMESTAMP": b"%d" % (1759276800000000 + i), b"_PID": b"%d" % i, b"MESSAGE": b"a=b c= %d" % i}
        for i in range(30)
    ]
    text = b"".join(b"".join(k + b"=" + v + b"\n" for k, v in e.items()) + b"\n" for e in entries[:20])
    text += b"__REALTIME_TIMESTAMP=1\nMESSAGE\n" + len(payload).to_bytes(8, "little") + payload + b"\n\n"
    text += b"".join(b"".join(k + b"=" + v + b"\n" for k, v in e.items()) + b"\n" for e in entries[20:])
    got = list(export_entries(io.BytesIO(text[:-1]), size=size))  # the last blank line missing: still read
    assert got == [*entries[:20], {b"__REALTIME_TIMESTAMP": b"1", b"MESSAGE": payload}, *entries[20:]]
