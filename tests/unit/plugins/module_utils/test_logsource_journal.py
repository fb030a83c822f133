# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The journal source: counting the export stream, journalctl failing, matches checked."""

from __future__ import annotations

import random

import pytest
from logsource_data import utc

from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.journal import (
    JournalSource,
    _JournalAccumulator,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.results import SourceResult
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.window import Window


def test_export_text_split_anywhere_between_lines():
    text = b"".join(
        b"__CURSOR=s=%d\n__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=1\n_BOOT_ID=b%d\n\n"
        % (i, 1759276800000000 + i, i % 2)
        for i in range(40)
    )
    lines = text.split(b"\n")[:-1]
    for size in (1, 2, 3, 7):  # blocks of whole lines, cut after every line, every other line, ...
        result = SourceResult("journal", "journal", None)
        acc = _JournalAccumulator(result, Window())
        for i in range(0, len(lines), size):
            acc.feed_export_text(b"".join(line + b"\n" for line in lines[i : i + size]))
        acc.end_entry()
        acc.done()
        assert (result.lines, result.parsed, result.unparsed) == (40, 40, 0)
        assert [(b["boot_id"], b["entries"]) for b in result.boots] == [("b0", 20), ("b1", 20)]


def _journal_figures(feed, text, window, per_block):
    result = SourceResult("journal", "journal", None)
    acc = _JournalAccumulator(result, window)
    entries = [e + b"\n\n" for e in text.split(b"\n\n") if e]
    for i in range(0, len(entries), per_block):
        feed(acc)(b"".join(entries[i : i + per_block]))
    acc.end_entry()
    acc.done()
    out = result.as_dict()
    return {
        k: out[k]
        for k in (
            "hours",
            "lines",
            "parsed",
            "unparsed",
            "outside_window",
            "first_event",
            "last_event",
            "backward_jumps",
            "largest_backward_jump",
            "boots",
            "boot_count",
        )
    }


@pytest.mark.parametrize("seed", range(6))
def test_journal_block_path_equals_the_line_path(seed):
    rng = random.Random(seed)
    boots = ["%032x" % rng.getrandbits(128) for _boot in range(3)]
    t = 1759276800000000
    text = b""
    for i in range(rng.randint(50, 400)):
        t += rng.randint(0, 900000000) if rng.random() > 0.03 else -rng.randint(0, 7200000000)
        boot = boots[min(2, i // 150)].encode()
        if rng.random() < 0.02:
            text += b"__CURSOR=s=%d\n__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=5\n\n" % (i, t)  # no boot id
        else:
            text += b"__CURSOR=s=%d\n__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=5\n_BOOT_ID=%s\n\n" % (i, t, boot)
    window = Window(1759276800 + rng.choice([0, 3600 * 5]), None if seed % 2 else 1759276800 + 3600 * 40)
    reference = _journal_figures(lambda acc: acc.feed_export_text, text, window, 1)
    for per_block in (1, 7, 1000):
        assert _journal_figures(lambda acc: acc.feed_export_block, text, window, per_block) == reference


FAKE_JOURNALCTL = """#!/bin/sh
# a stand-in for journalctl: prints its arguments to stderr and a fixed export stream
echo "$@" >&2
if [ -n "$FAIL" ]; then echo "Failed to open files: $FAIL" >&2; exit 1; fi
printf '__CURSOR=s=1\\n__REALTIME_TIMESTAMP=1759276800000000\\n__MONOTONIC_TIMESTAMP=1\\n_BOOT_ID=b1\\n\\n'
printf '__CURSOR=s=2\\n__REALTIME_TIMESTAMP=1759280400000001\\n__MONOTONIC_TIMESTAMP=2\\n_BOOT_ID=b1\\n\\n'
printf '__CURSOR=s=3\\n__REALTIME_TIMESTAMP=1759276900000000\\n__MONOTONIC_TIMESTAMP=3\\n_BOOT_ID=b2\\n\\n'
"""


@pytest.fixture
def fake_journalctl(tmp_path):
    path = tmp_path / "journalctl"
    path.write_text(FAKE_JOURNALCTL)
    path.chmod(0o755)
    return str(path)


def test_journal_counting_through_a_fake_journalctl(fake_journalctl, tmp_path):
    root = tmp_path / "img"
    (root / "var/log/journal/m").mkdir(parents=True)
    (root / "var/log/journal/m/system.journal").write_bytes(b"x" * 10)
    source = JournalSource(root=str(root), matches=["_SYSTEMD_UNIT=ssh.service", "+", "_COMM=sshd"])
    source.journalctl = fake_journalctl
    result = source.count(since=utc(2025, 10, 1), until=utc(2025, 10, 1, 1, 30))
    assert result["hours"] == {"2025-10-01T00": 2, "2025-10-01T01": 1}
    assert result["backward_jumps"] == 1 and result["largest_backward_jump"] == 3500.000001
    assert [(b["boot_id"], b["entries"]) for b in result["boots"]] == [("b1", 2), ("b2", 1)]
    assert result["files"] == [{"path": "/var/log/journal/m/system.journal", "size": 10}]
    assert result["path"] == "/var/log/journal"
    argv = result["warnings"][0].split()
    assert "--directory=%s" % (root / "var/log/journal") in argv
    assert "--since=@1759276800" in argv and "--until=@1759284000" in argv
    assert argv[-3:] == ["_SYSTEMD_UNIT=ssh.service", "+", "_COMM=sshd"]
    assert "--output-fields=_BOOT_ID" in argv and argv[argv.index("-o") + 1] == "export"


def test_journalctl_failing_or_missing_is_an_error_of_the_source(fake_journalctl, monkeypatch):
    monkeypatch.setenv("FAIL", "bad file")
    source = JournalSource(files=["/nonexistent.journal"], journalctl=fake_journalctl)
    result = source.count()
    assert result["error"].startswith("journalctl exited with 1:")
    assert "Failed to open files: bad file" in result["error"]
    source = JournalSource(journalctl="/nonexistent/journalctl")
    assert source.count()["error"].startswith("cannot run journalctl: No such file or directory")


def test_journal_matches_are_checked():
    for bad in ["--file=/etc/shadow", "-n", "lowercase=1", ""]:
        with pytest.raises(ValueError):
            JournalSource(matches=[bad])
