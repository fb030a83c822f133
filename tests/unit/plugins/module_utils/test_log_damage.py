# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Damaged and hostile log files cost what they damage, not the file: both log gatherers read them through the same
sources (issue: trust). Truncated and trailer-less gzip, a newline-free sparse file, access times kept."""

from __future__ import annotations

import gzip
import io
import os
import tracemalloc
import zlib

import pytest
from sshd_lines import START, line

from ansible_collections.fleetwatch.audit.plugins.module_utils import _lograte_scan, _sshd_scan
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.blocks import GzipStream, read_blocks

FAILED = "Failed password for invalid user admin from 203.0.113.%d port 4242 ssh2"


def auth_lines(count):
    return "".join(line(START + i, 100 + i, FAILED % (i % 200)) + "\n" for i in range(count)).encode()


def lines_of(stream):
    out = []
    with pytest.raises((EOFError, zlib.error)) as damage:
        for buf, start, end, _long, _boots in read_blocks(stream, 4096, threaded=False):
            out.extend(bytes(buf[start:end]).splitlines())
    return out, damage.value


def test_a_gzip_without_its_trailer_gives_every_line_then_the_damage():
    data = auth_lines(5000)
    got, damage = lines_of(GzipStream(io.BytesIO(gzip.compress(data)[:-8])))
    assert got == data.splitlines()  # gzip.GzipFile gives 0 lines of such a file
    assert isinstance(damage, EOFError)


def test_a_gzip_cut_in_half_gives_every_line_zlib_can_decompress():
    data = auth_lines(20000)
    packed = gzip.compress(data)
    cut = packed[: len(packed) // 2]
    expected = zlib.decompressobj(31).decompress(cut)  # all that the first half holds
    got, _damage = lines_of(GzipStream(io.BytesIO(cut)))
    whole = expected.count(b"\n")
    assert got[:whole] == expected.splitlines()[:whole] and len(got) in (whole, whole + 1)


def test_two_members_and_a_bounded_output():
    first, second = auth_lines(3), auth_lines(2)
    stream = GzipStream(io.BytesIO(gzip.compress(first) + gzip.compress(second)))
    out = []
    view = memoryview(bytearray(100))
    while True:
        got = stream.readinto(view)
        if not got:
            break
        assert got <= 100  # never more than asked, however well the data compresses
        out.append(bytes(view[:got]))
    assert b"".join(out) == first + second


@pytest.mark.parametrize("cut", [8, "half"])
def test_both_log_gatherers_count_what_a_damaged_rotation_holds(tmp_path, cut):
    data = auth_lines(3000)
    packed = gzip.compress(data)
    packed = packed[:-8] if cut == 8 else packed[: len(packed) // 2]
    readable = zlib.decompressobj(31).decompress(packed).count(b"\n")
    log = tmp_path / "var/log"
    log.mkdir(parents=True)
    (log / "auth.log.1.gz").write_bytes(packed)
    (log / "auth.log").write_bytes(b"")
    os.utime(log / "auth.log.1.gz", (START + 4000, START + 4000))
    options = {"root": str(tmp_path), "since": "all", "timezone": "UTC", "sources": [{"path": "/var/log/auth.log"}]}
    counted = _lograte_scan.gather(**options)["sources"][0]
    sshd = _sshd_scan.gather(workers=1, **options)
    for files in (counted["files"], sshd["sources"][0]["files"]):
        assert files[0]["compression"] == "gzip" and "EOFError" in files[0]["error"]
        assert files[0]["lines"] >= readable
    assert sum(counted["hours"].values()) >= readable
    assert sshd["totals"]["by_kind"]["failed_password"] >= readable  # each line is one failed password
    assert counted["error"] is None and sshd["sources"][0]["error"] is None  # the file was read, as far as it goes


def test_a_newline_free_sparse_file_is_read_in_bounded_memory(tmp_path):
    """A crashed or NUL-filled log: no newline in 160 MiB. No range, block or tail grows with the file."""
    log = tmp_path / "var/log/auth.log"
    log.parent.mkdir(parents=True)
    with open(log, "wb") as handle:
        handle.truncate(160 << 20)
        handle.seek((160 << 20) - 200)
        handle.write(("\n" + line(START, 7, FAILED % 1) + "\n").encode())
    os.utime(log, (START + 60, START + 60))
    tracemalloc.start()
    try:
        result = _sshd_scan.gather(root=str(tmp_path), since="all", timezone="UTC", workers=1)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # a byte range of at most 2 x 8 MiB, its unterminated last line copied, a 16 MiB tail searched: not the file
    assert peak < 64 << 20
    assert result["totals"]["by_kind"] == {"failed_password": 1}
    assert result["sources"][0]["files"][0]["last_event"] == "2025-10-01T00:00:00Z"


def test_reading_keeps_the_access_time_of_the_logs(tmp_path):
    log = tmp_path / "var/log/auth.log"
    log.parent.mkdir(parents=True)
    log.write_bytes(auth_lines(50))
    rotated = log.parent / "auth.log.1.gz"
    rotated.write_bytes(gzip.compress(auth_lines(20)))
    for path in (log, rotated):
        os.utime(path, (START - 86400, START + 3600))  # atime a day before mtime: relatime would update it
    before = [os.stat(path).st_atime_ns for path in (log, rotated)]
    _sshd_scan.gather(root=str(tmp_path), since="all", timezone="UTC", workers=1)
    _lograte_scan.gather(root=str(tmp_path), since="all", timezone="UTC", sources=[{"path": "/var/log/auth.log"}])
    assert [os.stat(path).st_atime_ns for path in (log, rotated)] == before
