# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Counting per hour (log_rate_info's backend): fast path and per-line path, rotation, years, time zones, robustness."""

from __future__ import annotations

import ast
import bz2
import gzip
import lzma
import os
import pickle
import random
import re
import shutil
import stat
import sys
import tempfile
import tracemalloc
from collections import Counter

import pytest
from logsource_data import BERLIN, BERLIN_LIBC, CHUNKS, UTC, count, expected_hours, label, rfc, steady, trad, utc, write

from ansible_collections.fleetwatch.audit.plugins.module_utils import _timestamps as ts
from ansible_collections.fleetwatch.audit.plugins.module_utils._lograte_scan import (
    count_sources,
    gather,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.blocks import CHUNK_SIZE
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.sources import build_sources
from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_scan import gather as sshd_gather


@pytest.mark.parametrize("chunk", CHUNKS)
@pytest.mark.parametrize("threaded", [True, False])
def test_wiped_hour_is_absent_with_exact_counts(tmp_path, chunk, threaded):
    start = utc(2025, 10, 1)
    times = steady(start, 6, 37, skip={2})
    path = write(tmp_path / "syslog", b"".join(trad(t) for t in times), mtime=times[-1])
    result = count(path, chunk_size=chunk, threaded=threaded)
    assert result["hours"] == {
        "2025-10-01T00": 37,
        "2025-10-01T01": 37,
        "2025-10-01T03": 37,
        "2025-10-01T04": 37,
        "2025-10-01T05": 37,
    }
    assert result["lines"] == result["parsed"] == 5 * 37
    assert result["unparsed"] == 0 and result["error"] is None
    assert result["first_event"] == "2025-10-01T00:00:00Z"
    assert result["last_event"] == ts.iso_utc(times[-1])
    assert result["formats"] == {"traditional": 185}
    assert result["files"][0]["year"] == 2025
    assert result["backward_jumps"] == 0


def test_last_line_without_newline_and_empty_lines(tmp_path):
    data = trad(utc(2025, 10, 1, 0, 0, 1)) + b"\n\n" + trad(utc(2025, 10, 1, 0, 0, 2)).rstrip(b"\n")
    result = count(write(tmp_path / "f", data, mtime=utc(2025, 10, 1, 1)))
    assert result["hours"] == {"2025-10-01T00": 2}
    assert (result["lines"], result["parsed"], result["unparsed"]) == (4, 2, 2)


def test_empty_file(tmp_path):
    result = count(write(tmp_path / "empty", b""))
    assert result["hours"] == {} and result["lines"] == 0 and result["error"] is None
    assert result["first_event"] is None and result["files"][0]["error"] is None


@pytest.mark.parametrize("chunk", [64, 4096, CHUNK_SIZE])
def test_garbage_nul_bytes_and_invalid_utf8(tmp_path, chunk):
    start = utc(2025, 10, 1, 5)
    good = [start + i * 7 for i in range(300)]
    rng = random.Random(1)
    lines = []
    junk = [
        b"\x00\x00\x00\x00\n",
        b"\xff\xfe\xfd garbage \xc3\x28\n",
        b"-- MARK --\n",
        b"Oct  1 99:00:00 bad hour\n",
        b"   \n",
        b"\x00" * 50 + b"\n",
    ]
    n_junk = 0
    for t in good:
        body = b"host prog: caf\xe9 \xff \x00 nul inside \xc3\x28"
        lines.append(trad(t, body=body))
        if rng.random() < 0.2:
            lines.append(rng.choice(junk))
            n_junk += 1
    result = count(write(tmp_path / "f", b"".join(lines), mtime=good[-1]), chunk_size=chunk)
    assert result["hours"] == expected_hours(good)
    assert result["unparsed"] == n_junk and result["parsed"] == len(good)


def test_ten_megabyte_line_is_counted_once_in_bounded_memory(tmp_path):
    start = utc(2025, 10, 1, 5)
    big = trad(start + 5, body=b"host prog: " + b"A" * (10 * 1024 * 1024))
    data = trad(start) + big + trad(start + 3700) + b"B" * (10 * 1024 * 1024) + b"\n" + trad(start + 3800)
    path = write(tmp_path / "f", data, mtime=start + 4000)
    tracemalloc.start()
    try:
        result = count(path, chunk_size=64 * 1024)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result["hours"] == {"2025-10-01T05": 2, "2025-10-01T06": 2}
    assert result["unparsed"] == 1  # the line of B
    assert result["files"][0]["long_lines"] == 2
    assert peak < 2 * 1024 * 1024  # buffers of 64 KiB: the 10 MB lines are never held
    # with the default buffers (8 MiB) the line is longer than a buffer too, and counted the same
    assert count(path)["hours"] == result["hours"]


def test_unreadable_directory_and_missing_files(tmp_path):
    (tmp_path / "adir").mkdir()
    result = count(tmp_path / "adir")
    assert result["files"][0]["error"].startswith("Is a directory (EISDIR)")
    assert result["error"] == "no file of this source could be read"
    result = count(tmp_path / "missing", rotated=True)
    assert result["error"] == "not found: %s" % (tmp_path / "missing")
    assert result["files"][0]["error"] == "not found"


@pytest.mark.skipif(os.geteuid() != 0 or not hasattr(os, "fork"), reason="needs root to switch to nobody")
def test_permission_denied_in_a_process_running_as_nobody(tmp_path):
    """Root bypasses permissions: a forked child drops to nobody, then opens a 0600 file for real (EACCES)."""
    public = tempfile.mkdtemp(prefix="fleetwatch-eacces-", dir="/tmp")  # pytest's tmp_path is not searchable
    os.chmod(public, 0o755)
    path = write(os.path.join(public, "secret"), trad(utc(2025, 10, 1)))
    os.chmod(path, 0o600)
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(rfd)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            counted = count(path, threaded=False)
            sshd = sshd_gather(sources=[{"path": path, "rotated": False}], since="all", timezone="UTC", workers=1)
            os.write(wfd, pickle.dumps((counted, sshd["sources"][0])))
        finally:
            os._exit(0)
    os.close(wfd)
    with os.fdopen(rfd, "rb") as handle:
        result, sshd = pickle.loads(handle.read())
    os.waitpid(pid, 0)
    shutil.rmtree(public)
    assert result["files"][0]["error"] == "Permission denied (EACCES)"
    assert result["error"] == "no file of this source could be read"
    assert result["hours"] == {}
    # the other log gatherer reads through the same sources: the same file, the same words
    assert (sshd["files"][0]["error"], sshd["error"]) == (result["files"][0]["error"], result["error"])


def test_one_bad_source_never_stops_the_others(tmp_path, monkeypatch):
    good = write(tmp_path / "good", trad(utc(2025, 10, 1)), mtime=utc(2025, 10, 1, 1))
    sources = build_sources([{"path": str(tmp_path / "nope")}, {"path": good}], UTC)

    def broken(*_args):
        raise RuntimeError("boom")

    monkeypatch.setattr(sources[0], "plan", broken)
    results = count_sources(sources)
    assert results[0]["error"] == "internal error: RuntimeError: boom"
    assert results[0]["hours"] == {}
    assert results[1]["hours"] == {"2025-10-01T00": 1}


@pytest.mark.parametrize("chunk", [64, CHUNK_SIZE])
def test_year_boundary_inside_one_file(tmp_path, chunk):
    times = steady(utc(2025, 12, 31, 22), 5, 4)
    path = write(tmp_path / "f", b"".join(trad(t) for t in times), mtime=utc(2026, 1, 1, 2, 30))
    result = count(path, chunk_size=chunk)
    assert result["hours"] == {
        "2025-12-31T22": 4,
        "2025-12-31T23": 4,
        "2026-01-01T00": 4,
        "2026-01-01T01": 4,
        "2026-01-01T02": 4,
    }
    assert result["files"][0]["year"] == 2026
    assert result["backward_jumps"] == 0


def test_year_from_mtime_closest_and_explicit_year(tmp_path):
    # last line Dec 31, written (mtime) on Jan 2: the year before the mtime's
    path = write(tmp_path / "f", trad(utc(2024, 12, 31, 23, 59)), mtime=utc(2025, 1, 2))
    assert count(path)["hours"] == {"2024-12-31T23": 1}
    # explicit year wins over the mtime
    assert count(path, year=2019)["hours"] == {"2019-12-31T23": 1}
    # Feb 29 last written in 2025: the closest year in which the date exists
    path = write(tmp_path / "g", b"Feb 29 10:00:00 host x: y\n", mtime=utc(2025, 3, 1))
    assert count(path)["hours"] == {"2024-02-29T10": 1}
    # Feb 29 before Mar 1 of 2025: a date that does not exist, not an event
    path = write(tmp_path / "h", b"Feb 29 10:00:00 host x: y\n" + trad(utc(2025, 3, 1, 10)), mtime=utc(2025, 3, 1, 11))
    result = count(path)
    assert result["hours"] == {"2025-03-01T10": 1} and result["unparsed"] == 1


def test_small_step_back_across_a_month_is_not_a_year(tmp_path):
    lines = trad(utc(2025, 11, 1, 0, 0, 5)) + trad(utc(2025, 10, 31, 23, 59, 58)) + trad(utc(2025, 11, 1, 0, 0, 6))
    result = count(write(tmp_path / "f", lines, mtime=utc(2025, 11, 1, 1)))
    assert result["hours"] == {"2025-10-31T23": 1, "2025-11-01T00": 2}
    assert result["backward_jumps"] == 1 and result["largest_backward_jump"] == 7.0


def test_isolated_line_from_another_year_does_not_shift_the_file(tmp_path):
    lines = trad(utc(2025, 12, 30, 10)) + trad(utc(2026, 1, 1, 0, 0, 1)) + trad(utc(2025, 12, 30, 11))
    result = count(write(tmp_path / "f", lines, mtime=utc(2025, 12, 30, 12)))
    assert result["hours"] == {"2025-12-30T10": 1, "2025-12-30T11": 1, "2026-01-01T00": 1}
    assert result["backward_jumps"] == 1


@pytest.mark.parametrize("zone", [BERLIN, BERLIN_LIBC], ids=["zoneinfo", "libc"])
@pytest.mark.parametrize("chunk", [64, CHUNK_SIZE])
@pytest.mark.parametrize("change", [utc(2025, 3, 29, 22), utc(2025, 10, 25, 22)], ids=["spring", "fall"])
def test_dst_changes_put_events_in_the_right_utc_hour(tmp_path, zone, chunk, change):
    times = [change + i * 600 for i in range(36)]  # every 10 minutes, 6 hours across the change
    lines = b"".join(trad(t, BERLIN) for t in times)  # the same text for both implementations
    path = write(tmp_path / "f", lines, mtime=times[-1] + 60)
    result = count(path, zone=zone, chunk_size=chunk)
    assert result["hours"] == expected_hours(times)
    assert all(n == 6 for n in result["hours"].values())
    assert result["backward_jumps"] == 0
    assert result["first_event"] == ts.iso_utc(times[0]) and result["last_event"] == ts.iso_utc(times[-1])
    assert result["timezone"] == "Europe/Berlin"


def test_fall_back_hour_with_sparse_lines(tmp_path):
    # 02:50 CEST (00:50Z), then 02:05 CET (01:05Z): the clock went back by 45 minutes, the second occurrence
    times = [utc(2025, 10, 26, 0, 50), utc(2025, 10, 26, 1, 5), utc(2025, 10, 26, 1, 40)]
    path = write(tmp_path / "f", b"".join(trad(t, BERLIN) for t in times), mtime=times[-1])
    assert count(path, zone=BERLIN)["hours"] == {"2025-10-26T00": 1, "2025-10-26T01": 2}


def test_half_hour_zone_goes_line_by_line(tmp_path):
    zone = ts.get_zone("Asia/Kolkata")
    times = steady(utc(2025, 10, 1), 4, 12)
    lines = b"".join(trad(t + 19800, None) for t in times)  # written in +05:30
    result = count(write(tmp_path / "f", lines, mtime=times[-1] + 19800), zone=zone)
    assert result["hours"] == expected_hours(times)


def test_rfc3339_offsets_and_the_fall_back_hour(tmp_path):
    times = [utc(2025, 10, 25, 23) + i * 300 for i in range(36)]  # 3 hours around the change, Berlin offsets
    lines = b"".join(rfc(t, BERLIN.utc_offset(t)) for t in times)
    for chunk in (64, CHUNK_SIZE):
        result = count(write(tmp_path / "f", lines), chunk_size=chunk)
        assert result["hours"] == expected_hours(times)
        assert result["formats"] == {"rfc3339": 36} and result["backward_jumps"] == 0


def test_rfc3339_variants_and_naive_timestamps(tmp_path):
    base = utc(2025, 10, 1, 10)
    lines = [
        rfc(base, 7200),
        rfc(base + 1, 7200, frac=""),
        rfc(base + 2, 0, frac=".5").replace(b"+00:00", b"Z"),
        rfc(base + 3, -3600, frac=".123456789"),
        b"2025-10-01T12:00:04 host naive: read in the zone\n",
        b"2025-10-01 12:00:05.1+0200 host space separated\n",
        rfc(base + 6, 7200).replace(b":06.", b":60."),  # a leap second: per-line path
    ]
    result = count(write(tmp_path / "f", b"".join(lines)), zone=BERLIN)
    assert result["hours"] == {"2025-10-01T10": 7}
    assert result["unparsed"] == 0


def test_rfc5424(tmp_path):
    base = utc(2025, 10, 11, 22)
    lines = [
        b"<34>1 2025-10-11T22:14:15.003Z mymachine su - ID47 - 'su root' failed for lonvick on /dev/pts/8\n",
        b'<165>1 2025-10-11T22:14:16Z host app 123 ID1 [exampleSDID@32473 iut="3"] An application event\n',
        b"<86>1 2025-10-11T23:14:15.000003-01:00 host sshd 77 - - Accepted publickey\n",
        b"<13>1 - host app - - - no timestamp\n",
        b"<13>Oct 11 22:14:15 host app: pri and a traditional stamp\n",
    ]
    result = count(write(tmp_path / "f", b"".join(lines), mtime=base + 7200))
    assert result["hours"] == {"2025-10-11T22": 3, "2025-10-12T00": 1}
    assert result["formats"] == {"rfc5424": 3, "traditional": 1}
    assert result["unparsed"] == 1
    many = b"".join(b"<%d>1 2025-10-11T22:%02d:00.5Z h a - - - m\n" % (i % 192, i % 60) for i in range(500))
    assert count(write(tmp_path / "g", many), chunk_size=4096)["hours"] == {"2025-10-11T22": 500}


def test_backward_jumps_are_counted_with_the_largest(tmp_path):
    t = utc(2025, 10, 1, 10)
    lines = trad(t) + trad(t + 3600) + trad(t - 1800) + trad(t + 3700) + trad(t + 3600 + 5) + trad(t + 7200)
    result = count(write(tmp_path / "f", lines, mtime=t + 7200))
    assert result["backward_jumps"] == 1
    assert result["largest_backward_jump"] == 5400.0
    assert sum(result["hours"].values()) == 6


@pytest.mark.parametrize("chunk", [64, 1000, CHUNK_SIZE])
def test_out_of_order_lines_inside_runs_stay_exact(tmp_path, chunk):
    times = steady(utc(2025, 10, 1), 5, 50)
    rng = random.Random(3)
    shuffled = list(times)
    for i in range(0, len(shuffled) - 3, 17):  # local disorder across hour boundaries too
        j = i + rng.randint(1, 3)
        shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
    result = count(write(tmp_path / "f", b"".join(trad(t) for t in shuffled), mtime=times[-1]), chunk_size=chunk)
    assert result["hours"] == expected_hours(times)


def test_boot_lines(tmp_path):
    t = utc(2025, 10, 1, 10)
    lines = [
        trad(t),
        trad(t + 60, body=b"host kernel: Linux version 6.1.0-13-amd64 (debian-kernel@lists.debian.org) #1 SMP"),
        trad(t + 61, body=b"host kernel: [    0.000000] Linux version 6.1.0-13-amd64"),
        trad(t + 62, body=b"host dpkg: installed Linux version 6 docs"),  # not a kernel line
        rfc(t + 4000, body=b"host kernel: Linux version 6.12.0 (builder) #1"),
    ]
    for chunk in (64, CHUNK_SIZE):
        result = count(write(tmp_path / "f", b"".join(lines), mtime=t + 5000), chunk_size=chunk)
        assert result["boot_count"] == 3
        assert [b["time"] for b in result["boots"]] == [
            "2025-10-01T10:01:00Z",
            "2025-10-01T10:01:01Z",
            "2025-10-01T11:06:40Z",
        ]
        assert result["boots"][0]["message"].startswith("Linux version 6.1.0-13-amd64")
        assert result["boots"][0]["file"] == str(tmp_path / "f")


def test_rotation_with_compression_in_order(tmp_path):
    logdir = tmp_path / "log"
    logdir.mkdir()
    start = utc(2025, 9, 1)
    parts = {
        "syslog.4.xz": (lzma.compress, 0),
        "syslog.3.bz2": (bz2.compress, 1),
        "syslog.2.gz": (gzip.compress, 2),
        "syslog.1": (bytes, 3),
        "syslog": (bytes, 4),
    }
    every = []
    for name, (pack, day) in parts.items():
        times = steady(start + day * 86400, 2, 5)
        every.extend(times)
        write(logdir / name, pack(b"".join(trad(t) for t in times)), mtime=times[-1])
    write(logdir / "syslog.2", b"", mtime=start)  # being compressed: the plain one is read, the .gz skipped
    write(logdir / "syslog.old", b"ignored")
    write(logdir / "syslog-backup", b"ignored")
    result = count(logdir / "syslog", rotated=True)
    names = [(f["path"].rsplit("/", 1)[1], f["compression"], f["skipped"]) for f in result["files"]]
    assert names == [
        ("syslog.4.xz", "xz", None),
        ("syslog.3.bz2", "bzip2", None),
        ("syslog.2", None, None),
        ("syslog.1", None, None),
        ("syslog.2.gz", None, "duplicate of syslog.2"),
        ("syslog", None, None),
    ]
    missing_day = set(steady(start + 2 * 86400, 2, 5))
    assert result["hours"] == expected_hours([t for t in every if t not in missing_day])
    assert result["first_event"] == "2025-09-01T00:00:00Z"
    assert result["files"][0]["first_event"] == "2025-09-01T00:00:00Z"
    assert result["files"][0]["last_event"] == "2025-09-01T01:48:00Z"


def test_dateext_order_and_since_skips_old_rotations(tmp_path):
    logdir = tmp_path / "log"
    logdir.mkdir()
    days = {"messages-20250903.gz": 1, "messages-20250910": 8, "messages-2025091506.bz2": 13, "messages": 20}
    for name, day in days.items():
        t = utc(2025, 9, day, 12)
        data = trad(t)
        data = gzip.compress(data) if name.endswith(".gz") else bz2.compress(data) if name.endswith(".bz2") else data
        write(logdir / name, data, mtime=t + 60)
    result = count(logdir / "messages", rotated=True)
    assert [f["path"].rsplit("/", 1)[1] for f in result["files"]] == list(days)
    assert len(result["hours"]) == 4
    write(logdir / "messages-2025091506.bz2", bz2.compress(trad(utc(2025, 9, 12, 10)) + trad(utc(2025, 9, 13, 12))))
    os.utime(logdir / "messages-2025091506.bz2", (utc(2025, 9, 13, 12, 1),) * 2)
    result = count(logdir / "messages", rotated=True, since=utc(2025, 9, 13))
    skipped = [f["skipped"] for f in result["files"]]
    assert skipped == ["last written before since", "last written before since", None, None]
    assert result["hours"] == {"2025-09-13T12": 1, "2025-09-20T12": 1}
    assert result["outside_window"] == 1  # the Sep 12 line: its file was read, its hour is before since


def test_gap_between_rotated_files_is_visible_per_file(tmp_path):
    write(tmp_path / "syslog.1", trad(utc(2025, 9, 1, 10)) + trad(utc(2025, 9, 1, 11)), mtime=utc(2025, 9, 1, 12))
    write(tmp_path / "syslog", trad(utc(2025, 9, 3, 8)), mtime=utc(2025, 9, 3, 9))
    files = count(tmp_path / "syslog", rotated=True)["files"]
    assert (files[0]["last_event"], files[1]["first_event"]) == ("2025-09-01T11:00:00Z", "2025-09-03T08:00:00Z")


def test_backward_jump_between_rotated_files(tmp_path):
    write(tmp_path / "syslog.1", trad(utc(2025, 9, 3, 10)), mtime=utc(2025, 9, 3, 11))
    write(tmp_path / "syslog", trad(utc(2025, 9, 1, 8)), mtime=utc(2025, 9, 3, 12))
    result = count(tmp_path / "syslog", rotated=True)
    assert result["backward_jumps"] == 1 and result["largest_backward_jump"] == 2 * 86400 + 7200


def test_truncated_gzip_reports_an_error_and_keeps_what_was_read(tmp_path):
    times = steady(utc(2025, 9, 1), 3, 2000)
    data = gzip.compress(b"".join(trad(t) for t in times))
    write(tmp_path / "syslog.1.gz", data[: len(data) // 2], mtime=times[-1])
    write(tmp_path / "syslog", trad(utc(2025, 9, 2)), mtime=utc(2025, 9, 2, 1))
    result = count(tmp_path / "syslog", rotated=True, chunk_size=4096)
    first = result["files"][0]
    assert first["compression"] == "gzip" and "EOFError" in first["error"]
    assert 0 < first["lines"] < len(times)
    assert result["error"] is None and result["hours"]["2025-09-02T00"] == 1


def test_window_filters_whole_utc_hours(tmp_path):
    times = steady(utc(2025, 10, 1), 6, 10)
    path = write(tmp_path / "f", b"".join(trad(t) for t in times), mtime=times[-1])
    result = count(path, since=utc(2025, 10, 1, 2, 30), until=utc(2025, 10, 1, 4, 10))
    assert result["hours"] == {"2025-10-01T02": 10, "2025-10-01T03": 10, "2025-10-01T04": 10}
    assert result["outside_window"] == 30


def _reference_hours(data, year):
    """An independent per-line reading of UTC traditional/RFC 3339 lines of one year."""
    hours = Counter()
    for line in data.split(b"\n"):
        m = re.match(rb"([A-Z][a-z]{2}) ([ \d]\d) (\d\d):", line)
        if m and m.group(1) in ts.MONTHS and 1 <= int(m.group(2)) <= 31 and int(m.group(3)) < 24:
            t = utc(year, ts.MONTHS[m.group(1)], int(m.group(2)), int(m.group(3)))
            hours[label(t)] += 1
            continue
        m = re.match(rb"(\d{4})-(\d\d)-(\d\d)T(\d\d):([0-5]\d):([0-5]\d)(?:\.\d{1,9})?(Z|[+-]\d\d:\d\d)[ \t]", line)
        if m:
            off = 0 if m.group(7) == b"Z" else int(m.group(7)[:3]) * 3600 + int(m.group(7)[0:1] + m.group(7)[4:]) * 60
            t = utc(*(int(g) for g in m.groups()[:6])) - off
            hours[label(t)] += 1
    return dict(sorted(hours.items()))


@pytest.mark.parametrize("seed", range(12))
def test_fast_path_equals_an_independent_per_line_reading(tmp_path, seed):
    rng = random.Random(seed)
    t = utc(2025, 3, 1) + rng.randrange(86400)
    lines = []
    for _line in range(rng.randint(200, 3000)):  # at most 3000 * 7200 s: the lines stay in 2025
        t += rng.choice([0, 1, 5, 30, 200, 900, 4000, 7200]) if rng.random() < 0.97 else -rng.randint(1, 9000)
        r = rng.random()
        if r < 0.55:
            lines.append(trad(t, body=b"h p: " + b"x" * rng.randint(0, 300)))
        elif r < 0.85:
            lines.append(rfc(t, rng.choice([0, 3600, -7200, 19800]), frac=rng.choice(["", ".1", ".123456"])))
        elif r < 0.9:
            lines.append(rfc(t, 0).replace(b"+00:00", b"Z"))
        else:
            lines.append(rng.choice([b"\n", b"garbage\n", b"\x00\xff\n", b"Mar  1 1", b"2025-03-01T00:00:00+0\n"]))
    data = b"".join(lines)
    expected = _reference_hours(data, 2025)
    path = write(tmp_path / "f", data, mtime=t)
    for chunk in (64, 333, 4096, CHUNK_SIZE):
        result = count(path, chunk_size=chunk, year=2025)
        assert result["hours"] == expected, chunk
        assert result["lines"] == data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def test_gather_options(tmp_path):
    root = tmp_path / "img"
    (root / "var/log").mkdir(parents=True)
    (root / "etc").mkdir()
    write(root / "var/log/syslog", trad(utc(2025, 9, 2)), mtime=utc(2025, 9, 2, 1))
    now = utc(2025, 9, 2, 5, 17)
    result = gather(root=str(root), timezone="UTC", now=now)
    assert result["discovered"] is True
    assert (result["since"], result["until"], result["collected_at"]) == (
        "2025-08-25T05:00:00Z",
        None,
        "2025-09-02T05:17:00Z",
    )
    assert [s["name"] for s in result["sources"]] == ["/var/log/syslog"]
    assert result["sources"][0]["hours"] == {"2025-09-02T00": 1}
    result = gather(sources=[{"path": "/var/log/syslog", "name": "sys", "rotated": False}], root=str(root), now=now)
    assert result["discovered"] is False and result["sources"][0]["name"] == "sys"
    assert result["timezone"] == "UTC"  # the image has no /etc/localtime
    for kwargs, message in [
        ({"timezone": "Nowhere/Else"}, "unknown time zone"),
        ({"since": "soon"}, "invalid time"),
        ({"since": "1d", "until": "2d"}, "is not after since"),
        ({"sources": [{"path": "var/log/syslog"}]}, "must be absolute"),
        ({"year": 12}, "year must be"),
    ]:
        with pytest.raises(ValueError, match=message):
            gather(root=str(root), now=now, **kwargs)
    with pytest.raises(ValueError, match="not a directory"):
        gather(root=str(root / "missing"))


def test_module_utils_are_python38_syntax():
    top = os.path.dirname(os.path.dirname(os.path.abspath(ts.__file__)))
    names = [os.path.join(d, n) for d, _s, files in os.walk(os.path.join(top, "module_utils")) for n in files]
    sources = [name for name in names if name.endswith(".py")]
    assert len(sources) > 15
    for path in sources:
        with open(path) as handle:
            ast.parse(handle.read(), path, feature_version=(3, 8))


def test_file_modes_untouched(tmp_path):
    path = write(tmp_path / "f", trad(utc(2025, 10, 1)), mtime=utc(2025, 10, 1, 1))
    before = os.stat(path)
    count(path)
    after = os.stat(path)
    assert (stat.S_IMODE(before.st_mode), before.st_mtime) == (stat.S_IMODE(after.st_mode), after.st_mtime)
    assert sys.version_info >= (3, 8)
