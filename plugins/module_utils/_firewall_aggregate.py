# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Adding up netfilter rows into flows: :class:`FlowAggregator` (private to the collection; target side, 3.8+).

A flow is the raw key (prefix, IN, OUT, SRC, DST, PROTO, DPT, ICMP TYPE); direction follows from IN and OUT. The
rows of a block are counted with C-level idioms (``Counter`` over the keys, ``dict(zip())`` for the last time of
each key and the reversed form for the first); Python only sees each distinct key once per block, and its times are
converted then.

Words: an **unlisted** flow is counted in ``totals.unlisted_*``, ``ports`` and ``addresses`` only; flows from an
internal source, or to an internal destination unless they come in from outside, are never unlisted.
"""

from __future__ import annotations

import heapq
from collections import Counter
from itertools import compress
from operator import itemgetter

from ansible_collections.fleetwatch.audit.plugins.module_utils._firewall_parse import (
    DPORT,
    DST,
    FLAGS,
    HOUR,
    ICMP_TYPE,
    IN,
    MINSEC,
    OFFSET,
    OUT,
    PREFIX,
    PROTO,
    SRC,
    direction,
    is_syn,
    prefix_text,
    proto_text,
    sample_text,
    ufw_action,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._timestamps import iso_utc

WATCHED_PORTS = (53, 853, 25, 465, 587)  # DNS and SMTP: the ports totals every result has
MAX_FLOWS = 30000  # distinct flows kept while reading; beyond, the least busy external ones are unlisted
MAX_SAMPLES = 10
_KEY = itemgetter(PREFIX, IN, OUT, SRC, DST, PROTO, DPORT, ICMP_TYPE)
_STAMP = itemgetter(HOUR, MINSEC, OFFSET)
_HOUR = itemgetter(HOUR, OFFSET)
_FLAGS = itemgetter(FLAGS)
_PREFIX = itemgetter(PREFIX)
K_PREFIX, K_IN, K_OUT, K_SRC, K_DST, K_PROTO, K_DPORT, K_TYPE = range(8)


class _Cache(dict):
    """``function(key)`` computed once per key, read with the C-level ``__getitem__``."""

    def __init__(self, function):
        super().__init__()
        self.function = function

    def __missing__(self, key):
        value = self[key] = self.function(key)
        return value


class FlowAggregator(object):
    """Adds up rows of ``_firewall_parse`` into flows.

    ``book``: an :class:`_sshd_parse.AddressBook`; ``top_external``: external-only flows listed (the busiest);
    ``prefixes``: log prefixes kept (None: all); ``max_flows``: distinct flows kept while reading.
    """

    def __init__(self, book, top_external=200, prefixes=None, max_flows=MAX_FLOWS):
        self.book = book
        self.top_external = top_external
        self.max_flows = max(int(max_flows), 2 * top_external + 1000)
        wanted = None if prefixes is None else {p.strip() for p in prefixes}
        self.kept_prefix = _Cache(lambda raw: wanted is None or prefix_text(raw).strip() in wanted)
        self.counts = Counter()
        self.syns = Counter()
        self.first = {}
        self.last = {}
        self.hours = {}
        self.always_listed = _Cache(self._always_listed)
        self.netfilter_lines = 0
        self.malformed = 0
        self.samples = []
        self.unlisted_keys = set()  # hash() of every flow unlisted so far: it stays unlisted, and counts once
        self.unlisted_events = 0
        self.unlisted_ports = {port: _port_entry() for port in WATCHED_PORTS}
        self.unlisted_addresses = {}  # internal address -> its entry, of the unlisted flows

    def add_malformed(self, line):
        self.netfilter_lines += 1
        self.malformed += 1
        if len(self.samples) < MAX_SAMPLES:
            self.samples.append(sample_text(line))

    def add_rows(self, rows, times):
        """Add parsed rows (in log order); ``times`` gives ``epoch(stamp)`` and ``hour(hour token)`` (0-23)."""
        if not all(self.kept_prefix[p] for p in set(map(_PREFIX, rows))):
            rows = list(compress(rows, map(self.kept_prefix.__getitem__, map(_PREFIX, rows))))
        if not rows:
            return
        self.netfilter_lines += len(rows)
        keys = list(map(_KEY, rows))
        self.counts.update(keys)
        flags = list(map(_FLAGS, rows))
        syn_flags = {f for f in set(flags) if is_syn(f)}
        if syn_flags:
            self.syns.update(compress(keys, map(syn_flags.__contains__, flags)))
        self._times(keys, rows, times)
        if len(self.counts) > self.max_flows:
            self._prune()

    def _times(self, keys, rows, times):
        stamps = list(map(_STAMP, rows))
        first, last = self.first, self.last
        for key, stamp in dict(zip(reversed(keys), reversed(stamps))).items():
            if key not in first:
                first[key] = times.epoch(stamp)
        for key, stamp in dict(zip(keys, stamps)).items():
            when = times.epoch(stamp)
            if when is not None or key not in last:
                last[key] = when
        hour_of = _Cache(times.hour)
        hours = self.hours
        for (key, token), n in Counter(zip(keys, map(_HOUR, rows))).items():
            slots = hours.get(key)
            if slots is None:
                slots = hours[key] = [0] * 24
            hour = hour_of[token]
            if hour is not None:
                slots[hour] += n

    def _always_listed(self, key):
        """A flow from an internal source, or to an internal destination unless it comes in from outside (inbound
        noise, forwarded or not, is ranked like the flows between external addresses)."""
        book = self.book
        if book.internal(book.text(key[K_SRC])):
            return True
        return direction(key[K_IN], key[K_OUT]) in ("out", "local") and book.internal(book.text(key[K_DST]))

    def _prune(self):
        """Unlist the least busy external flows (and those unlisted before), keeping ``max_flows // 2`` at most."""
        external = [key for key in self.counts if not self.always_listed[key]]
        keep = max(self.max_flows // 2 - (len(self.counts) - len(external)), 2 * self.top_external)
        self._unlist_beyond(external, keep)

    def _unlist_beyond(self, external, keep):
        """Unlist the external flows beyond the ``keep`` busiest, and every flow unlisted before."""
        again = self.unlisted_keys
        ranked = [key for key in external if hash(key) not in again]
        kept = set(heapq.nlargest(keep, ranked, key=self.counts.__getitem__)) if len(ranked) > keep else set(ranked)
        self._unlist([key for key in external if key not in kept])

    def _unlist(self, keys):
        for key in keys:
            count = self.counts.pop(key)
            tag = hash(key)
            new = tag not in self.unlisted_keys
            self.unlisted_keys.add(tag)
            self.unlisted_events += count
            first, last = self.first.pop(key, None), self.last.pop(key, None)
            self.syns.pop(key, None)
            self.hours.pop(key, None)
            self.always_listed.pop(key, None)
            entry = self.unlisted_ports.get(_port(key))
            if entry is not None:
                _add_port(entry, count, first, last, new)
            address = self.book.text(key[K_DST])
            if self.book.internal(address):
                _add_address(self.unlisted_addresses, address, "dst", count, first, last)

    def result(self):
        """``(flows, ports, addresses, totals)`` as the module returns them."""
        self._unlist_beyond([key for key in self.counts if not self.always_listed[key]], self.top_external)
        flows = sorted((self._flow(key) for key in self.counts), key=_flow_order)
        totals = {
            "netfilter_lines": self.netfilter_lines,
            "malformed": self.malformed,
            "flows": len(flows) + len(self.unlisted_keys),
            "unlisted_flows": len(self.unlisted_keys),
            "unlisted_events": self.unlisted_events,
        }
        return flows, self._ports(), self._addresses(), totals

    def _flow(self, key):
        proto = proto_text(key[K_PROTO])
        icmp = proto in ("ICMP", "ICMPV6")
        return {
            "direction": direction(key[K_IN], key[K_OUT]),
            "src": self.book.text(key[K_SRC]),
            "dst": self.book.text(key[K_DST]),
            "proto": proto,
            "dport": int(key[K_DPORT]) if key[K_DPORT] and not icmp else None,
            "icmp_type": int(key[K_TYPE]) if key[K_TYPE] and icmp else None,
            "prefix": prefix_text(key[K_PREFIX]),
            "action": ufw_action(key[K_PREFIX]),
            "in_iface": prefix_text(key[K_IN]),
            "out_iface": prefix_text(key[K_OUT]),
            "count": self.counts[key],
            "syn": self.syns.get(key, 0),
            "first_seen": iso_utc(self.first.get(key)),
            "last_seen": iso_utc(self.last.get(key)),
            "hours": self.hours.get(key) or [0] * 24,
        }

    def _ports(self):
        ports = {port: dict(entry) for port, entry in self.unlisted_ports.items()}
        for key, count in self.counts.items():
            entry = ports.get(_port(key))
            if entry is not None:
                _add_port(entry, count, self.first.get(key), self.last.get(key))
        return {str(port): _with_iso_times(entry) for port, entry in ports.items()}

    def _addresses(self):
        seen = {address: dict(entry) for address, entry in self.unlisted_addresses.items()}
        text, internal = self.book.text, self.book.internal
        for key, count in self.counts.items():
            for side, index in (("src", K_SRC), ("dst", K_DST)):
                address = text(key[index])
                if internal(address):
                    _add_address(seen, address, side, count, self.first.get(key), self.last.get(key))
        return [_with_iso_times(seen[address]) for address in sorted(seen, key=_address_order)]


def _add_address(entries, address, side, count, first, last):
    """Add a flow's lines to an internal address's entry (times as epochs)."""
    entry = entries.get(address)
    if entry is None:
        entry = entries[address] = {"address": address, "count": 0, "first_seen": None, "last_seen": None}
        entry.update(as_src=0, as_dst=0)
    entry["count"] += count
    entry["as_" + side] += count
    entry["first_seen"] = _earliest(entry["first_seen"], first)
    entry["last_seen"] = _latest(entry["last_seen"], last)


def _port(key):
    raw = key[K_DPORT]
    return int(raw) if raw and proto_text(key[K_PROTO]) not in ("ICMP", "ICMPV6") else None


def _port_entry():
    return {"count": 0, "flows": 0, "first_seen": None, "last_seen": None}


def _add_port(entry, count, first, last, new=True):
    """Add a flow's lines to a port's totals (times as epochs, None when unknown); ``new``: not counted before."""
    entry["count"] += count
    entry["flows"] += new
    entry["first_seen"] = _earliest(entry["first_seen"], first)
    entry["last_seen"] = _latest(entry["last_seen"], last)


def _with_iso_times(entry):
    entry["first_seen"], entry["last_seen"] = iso_utc(entry["first_seen"]), iso_utc(entry["last_seen"])
    return entry


def _earliest(a, b):
    return b if a is None or (b is not None and b < a) else a


def _latest(a, b):
    return b if a is None or (b is not None and b > a) else a


def _flow_order(flow):
    return (
        flow["direction"],
        flow["src"],
        flow["dst"],
        flow["proto"],
        -1 if flow["dport"] is None else flow["dport"],
        flow["prefix"],
        -1 if flow["icmp_type"] is None else flow["icmp_type"],
        flow["in_iface"],
        flow["out_iface"],
    )


def _address_order(address):
    return (":" in address, address)
