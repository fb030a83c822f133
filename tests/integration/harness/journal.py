"""Real journal files: entries in the journal export format, made into a journal file by ``systemd-journal-remote``.

systemd-journal-remote needs only ``__REALTIME_TIMESTAMP`` in an entry (one without it is dropped); the other
fields are the caller's.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Iterable, Mapping

from harness.environment import DEFAULT_RUN_TIMEOUT

JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"


def export_entry(fields: Mapping[str, bytes | str | int]) -> bytes:
    """One entry of the export format: ``NAME=value`` lines, and an empty line to end it. A value holding a newline
    or NUL takes the binary form: the name, its length as 64-bit little-endian, the data."""
    entry = b""
    for name, value in fields.items():
        data = value if isinstance(value, bytes) else str(value).encode()
        if b"\n" in data or b"\x00" in data:
            entry += name.encode() + b"\n" + len(data).to_bytes(8, "little") + data + b"\n"
        else:
            entry += name.encode() + b"=" + data + b"\n"
    return entry + b"\n"


def write_journal(entries: Iterable[bytes], export_path: Path, output: Path) -> subprocess.CompletedProcess:
    """Write the export stream ``entries`` to ``export_path`` and have systemd-journal-remote make the journal file
    ``output`` of it. Returns the finished process (its output in ``stdout``) for the caller to check."""
    export_path.write_bytes(b"".join(entries))
    return subprocess.run(
        [JOURNAL_REMOTE, f"--output={output}", str(export_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
        timeout=DEFAULT_RUN_TIMEOUT,
    )
