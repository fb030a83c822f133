# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Flows of _firewall_aggregate against an independent count of generated lines, and their bounds."""

from __future__ import annotations

import random
from collections import Counter

from ansible_collections.fleetwatch.audit.plugins.module_utils._firewall_aggregate import FlowAggregator
from ansible_collections.fleetwatch.audit.plugins.module_utils._firewall_scan import FileTimes, add_block
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.window import Window
from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_clock import Clock
from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_parse import (
    DEFAULT_INTERNAL_NETWORKS,
    AddressBook,
    parse_networks,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._timestamps import get_zone

ZONE = get_zone("UTC")
BOOK_NETWORKS = parse_networks(DEFAULT_INTERNAL_NETWORKS)


def generated(count, seed=7, sources=300):
    """``(log bytes, truth)``: truth maps (direction, src, dst, proto, dport) to [count, syn, hours Counter]."""
    rng = random.Random(seed)
    lines = []
    truth = {}
    for index in range(count):
        hour = index * 24 // count
        second = index % 3600
        stamp = "Dec  3 %02d:%02d:%02d" % (hour, second // 60, second % 60)
        if rng.random() < 0.8:  # inbound noise from many external sources
            src, dst, iface_in, iface_out = (
                "203.0.%d.%d" % (rng.randrange(4), rng.randrange(sources // 4)),
                "10.0.0.1",
                "eth0",
                "",
            )
        else:
            src, dst, iface_in, iface_out = (
                "10.0.0.%d" % rng.randrange(2, 6),
                "10.0.1.%d" % rng.randrange(3),
                "",
                "eth0",
            )
        proto = rng.choice(("TCP", "UDP"))
        dport = rng.choice((22, 25, 53, 443))
        flags = rng.choice(("SYN ", "ACK SYN ", "ACK ")) if proto == "TCP" else ""
        tail = "WINDOW=1024 RES=0x00 %sURGP=0" % flags if proto == "TCP" else "LEN=20"
        lines.append(
            "%s gw kernel: [ 1.0] FW IN=%s OUT=%s SRC=%s DST=%s LEN=40 TOS=0x00 PREC=0x00 TTL=9 ID=1 PROTO=%s "
            "SPT=999 DPT=%d %s" % (stamp, iface_in, iface_out, src, dst, proto, dport, tail)
        )
        entry = truth.setdefault(("in" if iface_in else "out", src, dst, proto, dport), [0, 0, Counter()])
        entry[0] += 1
        entry[1] += flags == "SYN "
        entry[2][hour] += 1
        if index % 97 == 0:
            lines.append("%s gw sshd[4]: Accepted password for x from 10.0.0.1 port 1 ssh2" % stamp)
    return ("\n".join(lines) + "\n").encode(), truth


def aggregate(data, chunk=4096, **kwargs):
    agg = FlowAggregator(AddressBook(BOOK_NETWORKS), **kwargs)
    times = FileTimes(Clock(ZONE, last_year=2026), ZONE)
    buf = b"\n" + data
    start, lines = 1, 0
    while start < len(buf):  # blocks of whole lines, as the log sources give them
        end = buf.rfind(b"\n", start, start + chunk) + 1 or len(buf)
        got, _outside = add_block(agg, buf, start, end, times, Window())
        lines += got
        start = end
    return agg, lines


def test_flows_equal_an_independent_count():
    data, truth = generated(5000)
    agg, lines = aggregate(data, top_external=10000)
    flows, ports, addresses, totals = agg.result()
    assert lines == data.count(b"\n")
    got = {(f["direction"], f["src"], f["dst"], f["proto"], f["dport"]): f for f in flows}
    assert sorted(got) == sorted(truth)
    for key, (count, syn, hours) in truth.items():
        flow = got[key]
        assert (flow["count"], flow["syn"]) == (count, syn)
        assert flow["hours"] == [hours[h] for h in range(24)]
        assert flow["prefix"] == "FW " and flow["action"] is None
    assert totals["netfilter_lines"] == 5000 and totals["flows"] == len(truth) and totals["malformed"] == 0
    for port in (53, 25):
        assert ports[str(port)]["count"] == sum(v[0] for k, v in truth.items() if k[4] == port)
        assert ports[str(port)]["flows"] == sum(1 for k in truth if k[4] == port)
    assert ports["853"] == {"count": 0, "flows": 0, "first_seen": None, "last_seen": None}
    by_address = {a["address"]: a for a in addresses}
    assert by_address["10.0.0.1"]["as_dst"] == sum(v[0] for k, v in truth.items() if k[2] == "10.0.0.1")
    assert not any(a.startswith("203.") for a in by_address)


def test_first_and_last_seen():
    data = (
        b"Dec  3 01:00:00 gw kernel: IN=eth0 OUT= SRC=10.0.0.2 DST=10.0.0.3 LEN=1 PROTO=UDP SPT=1 DPT=53\n"
        b"Dec  3 02:00:05 gw kernel: IN=eth0 OUT= SRC=10.0.0.2 DST=10.0.0.3 LEN=1 PROTO=UDP SPT=2 DPT=53\n"
        b"Dec  3 03:00:09 gw kernel: IN=eth0 OUT= SRC=10.0.0.2 DST=10.0.0.3 LEN=1 PROTO=UDP SPT=3 DPT=53\n"
    )
    for chunk in (40, 4096):
        flows, ports, _addresses, _totals = aggregate(data, chunk=chunk)[0].result()
        assert (flows[0]["first_seen"], flows[0]["last_seen"]) == ("2026-12-03T01:00:00Z", "2026-12-03T03:00:09Z")
        assert ports["53"]["first_seen"] == "2026-12-03T01:00:00Z" and ports["53"]["count"] == 3


def test_bounds_unlist_only_external_flows_and_lose_nothing():
    data, truth = generated(6000, sources=4000)
    agg, _lines = aggregate(data, top_external=5, max_flows=10)
    flows, ports, addresses, totals = agg.result()
    external = [f for f in flows if f["src"].startswith("203.")]
    assert len(external) <= 5
    internal = {k: v for k, v in truth.items() if k[1].startswith("10.")}
    listed = {(f["direction"], f["src"], f["dst"], f["proto"], f["dport"]): f["count"] for f in flows}
    assert all(listed[k] == v[0] for k, v in internal.items())
    assert sum(f["count"] for f in flows) + totals["unlisted_events"] == 6000
    assert totals["unlisted_flows"] > 0 and totals["flows"] == len(flows) + totals["unlisted_flows"] == len(truth)
    assert all(count == truth[key][0] for key, count in listed.items())  # once unlisted, a flow stays unlisted
    assert sum(p["count"] for p in ports.values()) == sum(v[0] for k, v in truth.items() if k[4] in (25, 53))
    assert ports["53"]["flows"] == sum(1 for k in truth if k[4] == 53)
    noise_target = next(a for a in addresses if a["address"] == "10.0.0.1")
    assert noise_target["as_dst"] == sum(v[0] for k, v in truth.items() if k[2] == "10.0.0.1")


def test_prefixes_filter_and_malformed_samples():
    data = (
        b"Dec  3 01:00:00 gw kernel: [UFW BLOCK] IN=eth0 OUT= SRC=10.0.0.2 DST=10.0.0.3 LEN=1 PROTO=UDP SPT=1 DPT=9\n"
        b"Dec  3 01:00:01 gw kernel: other IN=eth0 OUT= SRC=10.0.0.2 DST=10.0.0.3 LEN=1 PROTO=UDP SPT=1 DPT=9\n"
        + b"".join(b"Dec  3 01:00:02 gw kernel: bad%d IN=eth0 OUT= SRC=10.\n" % n for n in range(12))
    )
    agg, _lines = aggregate(data, prefixes=["[UFW BLOCK]"])
    flows, _ports, _addresses, totals = agg.result()
    assert [(f["prefix"], f["action"]) for f in flows] == [("[UFW BLOCK] ", "block")]
    assert totals["malformed"] == 12 and totals["netfilter_lines"] == 13
    assert len(agg.samples) == 10 and agg.samples[0] == "bad0 IN=eth0 OUT= SRC=10."
