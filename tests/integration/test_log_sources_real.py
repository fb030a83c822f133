# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The log sources against real writers and readers.

- rsyslog: Debian's ``rsyslogd`` (``harness.syslog.Rsyslogd``) runs in the foreground with its own configuration
  and its own imuxsock socket (never /dev/log), in the Europe/Berlin zone, writing every message to a
  traditional-format file and to an RFC 3339 (``RSYSLOG_FileFormat``) file; ``logger -u SOCKET`` feeds it. A
  rotation is done the way logrotate does it (rename, SIGHUP, compress).
- journal: journal files written by ``systemd-journal-remote`` from export format (``harness.journal``), read by
  the real ``journalctl`` (``--directory``, ``--file``, an image's ``var/log/journal``). Only
  ``__REALTIME_TIMESTAMP`` is required by systemd-journal-remote (an entry without it is dropped);
  ``__MONOTONIC_TIMESTAMP``, ``_BOOT_ID`` and ``_HOSTNAME`` are optional, and given here as a real journal has them.
"""

from __future__ import annotations

import calendar
import gzip
import os
import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from harness.journal import JOURNAL_REMOTE, export_entry, write_journal
from harness.processes import wait_for
from harness.syslog import Rsyslogd

from ansible_collections.fleetwatch.audit.plugins.module_utils import _timestamps as ts
from ansible_collections.fleetwatch.audit.plugins.module_utils._lograte_scan import count_source, count_sources, gather
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.journal import JournalSource
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.sources import FileSource
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.window import Window

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
LOGGER = shutil.which("logger")
JOURNALCTL = shutil.which("journalctl")
BERLIN = ts.get_zone("Europe/Berlin")
UTC = ts.get_zone("UTC")

needs_rsyslog = pytest.mark.skipif(
    not (os.access(RSYSLOGD, os.X_OK) and LOGGER), reason="rsyslogd and logger are needed (.ci/run installs them)"
)
needs_journal = pytest.mark.skipif(
    not (os.access(JOURNAL_REMOTE, os.X_OK) and JOURNALCTL),
    reason="systemd-journal-remote and journalctl are needed (.ci/run installs them)",
)


def line_count(path):
    try:
        with open(path, "rb") as handle:
            return handle.read().count(b"\n")
    except FileNotFoundError:
        return 0


def hour_of(when):
    return time.strftime("%Y-%m-%dT%H", time.gmtime(when))


# ------------------------------------------------------------------------------------------------------- rsyslog


class Rsyslog(object):
    """A private rsyslogd: ``feed()`` messages through its socket, ``wait_lines()`` until both files have them."""

    def __init__(self, directory):
        self.sock = os.path.join(directory, "log.sock")
        self.trad = os.path.join(directory, "trad.log")
        self.rfc = os.path.join(directory, "rfc.log")
        rules = (
            'module(load="imuxsock" SysSock.Use="off")\n'
            'input(type="imuxsock" Socket="%s" RateLimit.Interval="0")\n'
            '*.* action(type="omfile" file="%s" template="RSYSLOG_TraditionalFileFormat")\n'
            '*.* action(type="omfile" file="%s" template="RSYSLOG_FileFormat")\n' % (self.sock, self.trad, self.rfc)
        )
        self.daemon = Rsyslogd(Path(directory), rules, RSYSLOGD, env=dict(os.environ, TZ="Europe/Berlin"))
        self.daemon.start(lambda: os.path.exists(self.sock), "rsyslogd's socket")
        self.proc = self.daemon.process

    def feed(self, lines, tag="fwtest"):
        """Send each line as one message (logger reads them from its stdin)."""
        subprocess.run(
            [LOGGER, "-u", self.sock, "-t", tag], input=b"".join(line + b"\n" for line in lines), check=True, timeout=60
        )

    def wait_lines(self, count):
        wait_for(
            lambda: line_count(self.trad) >= count and line_count(self.rfc) >= count,
            what="%d lines in %s and %s" % (count, self.trad, self.rfc),
            details=lambda: "rsyslogd says: %s" % self.daemon.output_tail(),
        )

    def stop(self):
        self.daemon.stop()


@pytest.fixture
def rsyslog(tmp_path):
    daemon = Rsyslog(str(tmp_path / "rsyslog"))
    try:
        yield daemon
    finally:
        daemon.stop()


def _check_counts(result, total, before, after, kind):
    assert result["error"] is None, result
    assert result["unparsed"] == 0
    assert result["formats"] == {kind: total}
    assert sum(result["hours"].values()) == total
    assert set(result["hours"]) <= {hour_of(before), hour_of(after)}  # the hour the lines were fed in, UTC
    if hour_of(before) == hour_of(after):
        assert result["hours"] == {hour_of(before): total}


@needs_rsyslog
def test_rsyslog_traditional_and_rfc3339_files_count_every_line_in_its_utc_hour(rsyslog):
    messages = [b"message %d caf\xc3\xa9 \xe2\x82\xac [x=%d]" % (i, i) for i in range(300)]
    before = time.time()
    rsyslog.feed(messages)
    rsyslog.feed([b"Failed password for root from 203.0.113.9 port 2222 ssh2"], tag="sshd[4242]")
    rsyslog.wait_lines(301)
    after = time.time()
    trad = count_source(FileSource(rsyslog.trad, BERLIN, rotated=False))
    _check_counts(trad, 301, before, after, "traditional")
    rfc = count_source(FileSource(rsyslog.rfc, BERLIN, rotated=False))
    _check_counts(rfc, 301, before, after, "rfc3339")
    # RFC 3339 carries its offset: the zone does not matter
    assert count_source(FileSource(rsyslog.rfc, UTC, rotated=False))["hours"] == rfc["hours"]
    # read in the wrong zone, the traditional file moves by Berlin's offset: the zone really is applied
    wrong = count_source(FileSource(rsyslog.trad, UTC, rotated=False))["hours"]
    shift = BERLIN.utc_offset(before) // 3600
    expected = Counter()
    for hour, n in trad["hours"].items():
        expected[hour_of(calendar.timegm(time.strptime(hour, "%Y-%m-%dT%H")) + shift * 3600)] += n
    assert wrong == dict(expected)
    # the events: the messages as rsyslog wrote them, times within the feeding window
    for path in (rsyslog.trad, rsyslog.rfc):
        lines = _lines_read(FileSource(path, BERLIN, rotated=False))
        assert len(lines) == 301
        assert lines[-1].endswith(b" sshd[4242]: Failed password for root from 203.0.113.9 port 2222 ssh2")
        assert lines[7].endswith(b": " + messages[7])


def _lines_read(source):
    """Every line of a file source as the shared block reader hands them to a gatherer."""
    lines = []
    for log_file in source.files(Window(), source.new_result()):
        _st, stream = log_file.open()
        with log_file.blocks(stream) as blocks:
            for buf, start, end, _long_line, _boots in blocks:
                lines.extend(bytes(buf[start:end]).splitlines())
        stream.close()
    return lines


@needs_rsyslog
def test_rsyslog_rotation_like_logrotate(rsyslog):
    before = time.time()
    rsyslog.feed([b"before rotation %d" % i for i in range(120)])
    rsyslog.wait_lines(120)
    for path in (rsyslog.trad, rsyslog.rfc):
        os.rename(path, path + ".1")
    rsyslog.proc.send_signal(signal.SIGHUP)  # rsyslog closes its files and reopens them on the next message
    rsyslog.feed([b"after rotation %d" % i for i in range(80)])
    rsyslog.wait_lines(80)
    after = time.time()
    for path in (rsyslog.trad, rsyslog.rfc):  # then compress the rotated file, keeping its mtime like gzip does
        st = os.stat(path + ".1")
        with open(path + ".1", "rb") as src, gzip.open(path + ".1.gz", "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.utime(path + ".1.gz", (st.st_atime, st.st_mtime))
        os.unlink(path + ".1")
    for path, kind in ((rsyslog.trad, "traditional"), (rsyslog.rfc, "rfc3339")):
        result = count_source(FileSource(path, BERLIN))
        _check_counts(result, 200, before, after, kind)
        files = result["files"]
        assert [(os.path.basename(f["path"]), f["compression"], f["lines"]) for f in files] == [
            (os.path.basename(path) + ".1.gz", "gzip", 120),
            (os.path.basename(path), None, 80),
        ]
        assert files[0]["last_event"] <= files[1]["first_event"]


@needs_rsyslog
def test_rsyslog_files_through_the_module_entry_point(rsyslog):
    before = time.time()
    rsyslog.feed([b"entry %d" % i for i in range(50)])
    rsyslog.wait_lines(50)
    after = time.time()
    result = gather(
        sources=[{"path": rsyslog.trad, "name": "trad"}, {"path": rsyslog.rfc, "name": "rfc"}],
        since="1h",
        timezone="Europe/Berlin",
    )
    for source in result["sources"]:
        assert sum(source["hours"].values()) == 50
        assert set(source["hours"]) <= {hour_of(before), hour_of(after)}


# ------------------------------------------------------------------------------------------------------- journal

BOOT_A = "a1" * 16
BOOT_B = "b2" * 16
START = calendar.timegm((2025, 10, 1, 0, 0, 0))


def _export_entry(when_us, boot, ident, message, mono):
    return export_entry(
        {
            "__REALTIME_TIMESTAMP": when_us,
            "__MONOTONIC_TIMESTAMP": mono,
            "_BOOT_ID": boot,
            "_HOSTNAME": "web01",
            "SYSLOG_IDENTIFIER": ident,
            "_PID": 1000 + mono % 7,
            "PRIORITY": 6,
            "MESSAGE": message,
        }
    )


@pytest.fixture
def journal(tmp_path):
    """A journal of 3 hours: hour 0 and 1 in boot A (40 and 25 entries), hour 3 in boot B (10 entries)."""
    plan = [(0, BOOT_A, 40), (1, BOOT_A, 25), (3, BOOT_B, 10)]
    expected = {}
    entries = []
    for hour, boot, n in plan:
        for i in range(n):
            when = START + hour * 3600 + i * 60 + 7
            ident = "sshd" if i % 5 == 0 else "cron"
            message = b"line one\nline two \x00 binary" if (hour, i) == (1, 3) else b"entry %d of hour %d" % (i, hour)
            entries.append(_export_entry(when * 1000000 + 123, boot, ident, message, when - START + 1))
        expected[ts.hour_label((START + hour * 3600) // 3600)] = n
    directory = tmp_path / "journal"
    directory.mkdir()
    output = directory / "remote.journal"
    proc = write_journal(entries, tmp_path / "journal.export", output)
    assert proc.returncode == 0, proc.stdout
    assert output.exists()
    return {"dir": str(directory), "file": str(output), "expected": expected}


@needs_journal
def test_journal_hours_and_two_boots_from_real_journal_files(journal):
    for source in (JournalSource(directory=journal["dir"]), JournalSource(files=[journal["file"]])):
        result = source.count()
        assert result["error"] is None, result
        assert result["hours"] == journal["expected"]
        assert (result["lines"], result["parsed"], result["unparsed"]) == (75, 75, 0)
        assert result["first_event"] == "2025-10-01T00:00:07Z"
        assert result["last_event"] == "2025-10-01T03:09:07Z"
        assert result["boot_count"] == 2
        assert [(b["boot_id"], b["first_event"], b["last_event"], b["entries"]) for b in result["boots"]] == [
            (BOOT_A, "2025-10-01T00:00:07Z", "2025-10-01T01:24:07Z", 65),
            (BOOT_B, "2025-10-01T03:00:07Z", "2025-10-01T03:09:07Z", 10),
        ]
        assert result["backward_jumps"] == 0
        assert [os.path.basename(f["path"]) for f in result["files"]] == ["remote.journal"]


@needs_journal
def test_journal_window_matches_and_events(journal):
    source = JournalSource(files=[journal["file"]], matches=["SYSLOG_IDENTIFIER=sshd"])
    result = source.count(since=START + 3600, until=START + 4 * 3600)
    assert result["hours"] == {"2025-10-01T01": 5, "2025-10-01T03": 2}
    events = list(JournalSource(files=[journal["file"]]).events(since=START + 3600, until=START + 2 * 3600))
    assert len(events) == 25
    assert events[0].time == pytest.approx(START + 3600 + 7.000123)
    assert events[3].data == b"line one\nline two \x00 binary"  # a binary field of the export format
    assert events[0].boot_id == BOOT_A
    assert events[0].fields["SYSLOG_IDENTIFIER"] == b"sshd" and events[0].fields["_PID"] == b"1003"


@needs_journal
def test_journal_of_an_offline_image_is_discovered_and_read(journal, tmp_path):
    root = tmp_path / "image"
    machine = root / "var/log/journal/0123456789abcdef0123456789abcdef"
    machine.mkdir(parents=True)
    shutil.copy(journal["file"], machine / "system.journal")
    (root / "etc").mkdir()
    result = gather(root=str(root), since="all")
    assert result["discovered"] is True
    (source,) = result["sources"]
    assert source["kind"] == "journal" and source["path"] == "/var/log/journal"
    assert source["hours"] == journal["expected"]
    assert source["files"][0]["path"] == "/var/log/journal/0123456789abcdef0123456789abcdef/system.journal"


@needs_journal
def test_journal_verify_passes_on_intact_files_and_fails_on_a_corrupted_one(journal, tmp_path):
    intact = JournalSource(directory=journal["dir"]).verify()
    assert intact == {"ok": True, "message": None}
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    copy = damaged / "system.journal"
    data = bytearray(Path(journal["file"]).read_bytes())
    # Edit one message in place, same length, as an intruder hiding a line would: its data object's hash breaks.
    at = data.find(b"MESSAGE=entry 10 of hour 0")
    assert at > 0
    data[at + 8 : at + 13] = b"ENTRY"
    copy.write_bytes(bytes(data))
    result = JournalSource(directory=str(damaged)).verify()
    assert result["ok"] is False
    assert "system.journal" in result["message"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert JournalSource(directory=str(empty)).verify() is None
    counted = count_sources([JournalSource(directory=journal["dir"])], verify_journal=True)
    assert counted[0]["verify"] == {"ok": True, "message": None}
