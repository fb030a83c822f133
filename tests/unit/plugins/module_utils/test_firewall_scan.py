# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""_firewall_scan: the journal's kernel entries, the time window, hours in the zone, the journal cut of the files."""

from __future__ import annotations

import os

from ansible_collections.fleetwatch.audit.plugins.module_utils import _firewall_scan
from ansible_collections.fleetwatch.audit.plugins.module_utils._firewall_aggregate import FlowAggregator
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.journal import Event
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.window import Window
from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_parse import (
    DEFAULT_INTERNAL_NETWORKS,
    AddressBook,
    parse_networks,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._timestamps import get_zone

START = 1796263200  # 2026-12-03T02:00:00Z
SYN_OUT = b"FW IN= OUT=eth0 SRC=10.0.0.5 DST=10.0.0.6 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 PROTO=TCP SPT=1 DPT=22 "
SYN_OUT += b"WINDOW=1 RES=0x00 SYN URGP=0"


class FakeJournal(object):
    """The journal's kernel entries as ``JournalSource.events`` gives them."""

    kind = "journal"
    name = "journal"
    result = None

    def __init__(self, events):
        self.given = events

    def events(self, since=None, until=None, fields=()):
        for event in self.given:
            if (since is None or event.time >= since) and (until is None or event.time < until):
                yield event


def test_journal_entries_are_flows_with_hours_in_the_zone():
    events = [Event(START + n, SYN_OUT, {}, None) for n in range(3)]
    events += [Event(START + 5, b"usb 1-1: new device", {}, None), Event(START + 6, b"X IN= OUT= SRC=1", {}, None)]
    agg = FlowAggregator(AddressBook(parse_networks(DEFAULT_INTERNAL_NETWORKS)))
    stats, first = _firewall_scan.read_journal(FakeJournal(events), Window(), agg, get_zone("Europe/Berlin"))
    flows, _ports, _addresses, totals = agg.result()
    assert first == START and stats["lines"] == 5 and stats["netfilter_lines"] == 4
    assert [(f["count"], f["syn"], f["first_seen"], f["last_seen"]) for f in flows] == [
        (3, 3, "2026-12-03T02:00:00Z", "2026-12-03T02:00:02Z")
    ]
    assert flows[0]["hours"][3] == 3  # 02:00 UTC is 03:00 in Berlin
    assert totals["malformed"] == 1 and agg.samples == ["X IN= OUT= SRC=1"]


def test_files_are_read_in_the_window_and_up_to_the_journal(tmp_path, monkeypatch):
    log = tmp_path / "var/log/kern.log"
    log.parent.mkdir(parents=True)
    lines = [b"Dec  3 %02d:00:00 gw kernel: " % hour + SYN_OUT for hour in (0, 1, 2, 3)]
    log.write_bytes(b"\n".join(lines) + b"\n")
    os.utime(log, (START + 7200, START + 7200))
    args = {"root": str(tmp_path), "timezone": "UTC", "sources": [{"path": "/var/log/kern.log"}]}
    windowed = _firewall_scan.gather(since="2026-12-03T01:00:00Z", until="2026-12-03T03:00:00Z", **args)
    assert windowed["flows"][0]["count"] == 2 and windowed["sources"][0]["outside_window"] == 2
    journal = FakeJournal([Event(START + 1800.0, SYN_OUT, {}, None)])
    monkeypatch.setattr(_firewall_scan, "build_sources", lambda specs, *a: [journal, *real_sources(specs, *a)])
    monkeypatch.setattr(_firewall_scan, "log_options", discovered_options)
    both = _firewall_scan.gather(since="all", **args)
    assert both["flows"][0]["count"] == 3 + 1  # the files up to 02:30 (the journal's first entry), then the journal
    assert both["sources"][1]["journal_cut"] == "2026-12-03T02:30:00Z"


REAL_BUILD = _firewall_scan.build_sources
REAL_OPTIONS = _firewall_scan.log_options


def real_sources(specs, *args):
    return REAL_BUILD(specs, *args)


def discovered_options(*args, **kwargs):
    return REAL_OPTIONS(*args, **kwargs)._replace(discovered=True)
