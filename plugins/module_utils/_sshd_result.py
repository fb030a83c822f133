# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The module's ``failures``, ``accepted`` and ``totals`` from a finished aggregator (private to the collection;
target side, Python 3.8+).

Internal sources are always listed; of the external ones, the ``top_external`` with the most attempts are listed and
the others are unlisted: counted in the totals only (``folded_sources``, ``folded_attempts``, ``folded_events``).
A listed external source shows at most ``max_entries`` entries, the rest of its kind events as one entry of kind
``other``. Times are computed for the entries listed only.
"""

from __future__ import annotations

from collections import Counter

from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_clock import JOURNAL_CLOCK, earliest, latest
from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_parse import (
    CLOSED_PREAUTH,
    FAILED_OTHER,
    INVALID_USER,
    KNOWN_METHODS,
    NOT_ALLOWED,
    PAM_FAILURE,
    ROOT_REFUSED,
    TOO_MANY,
    key_addr,
    key_fields,
    user_text,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._timestamps import iso_utc

OTHER = "other"  # the failures of a listed source beyond its entries
# The kind of each key tag but F (a Failed line: its kind comes from its method); see _sshd_summary for the tags.
_TAGS = {
    b"I": INVALID_USER,
    b"N": NOT_ALLOWED,
    b"R": ROOT_REFUSED,
    b"T": TOO_MANY,
    b"P": PAM_FAILURE,
    b"C": CLOSED_PREAUTH,
}


def kind_name(tag, method):
    """The ``kind`` text of a key's tag and method."""
    if tag == b"F":
        return KNOWN_METHODS.get(method, FAILED_OTHER)
    return _TAGS[tag]


def _is_invalid(tag, flag):
    if tag == b"I":
        return True
    return bool(flag) and flag != b"authenticating"


def build_result(agg):
    """``(failures, accepted, totals)`` as the module returns them (call ``agg.finish()`` first)."""
    per_source = _per_source(agg)
    listed, unlisted = _listed_sources(per_source, agg.top_external)
    entries = _failure_entries(agg, per_source, _keys_by_source(agg, listed))
    failures = []
    with_other = 0
    for source in listed:
        items, other = _source_failures(source, entries.get(source, ()), per_source[source], agg.max_entries)
        failures.extend(items)
        with_other += other
    failures.sort(key=lambda e: (-e["count"], e["source"], e["user"] or "", e["kind"]))
    accepted = accepted_entries(agg)
    return failures, accepted, _totals(agg, per_source, unlisted, with_other, accepted)


def _per_source(agg):
    """Normalised source -> [attempts, kind events, internal]."""
    book = agg.book
    per_source = {}
    for raw in agg.attempts.keys() | agg.events.keys():
        text = book.text(raw)
        got = per_source.get(text)
        if got is None:
            got = per_source[text] = [0, 0, book.internal(text)]
        got[0] += agg.attempts[raw]
        got[1] += agg.events[raw]
    return per_source


def _listed_sources(per_source, top_external):
    """The sources listed (a set: the internal ones and the ``top_external`` external ones with the most attempts)
    and the unlisted external ones."""
    external = sorted(
        (src for src, got in per_source.items() if not got[2]),
        key=lambda src: (-per_source[src][0], -per_source[src][1], src),
    )
    listed = set(external[:top_external]) | {src for src, got in per_source.items() if got[2]}
    return listed, external[top_external:]


def _keys_by_source(agg, listed):
    """Listed source -> [(count, key)] of the detail keys that are not partial (a partial key's events stay in its
    source's ``other`` entry)."""
    book = agg.book
    listed_raw = {}
    for raw in agg.known_raw | agg.events.keys():
        source = book.text(raw)
        if source in listed:
            listed_raw[raw] = source
    keys_of = {}
    for key, n in agg.counts.items():
        source = listed_raw.get(key_addr(key))
        if source is not None and key not in agg.partial:
            keys_of.setdefault(source, []).append((n, key))
    return keys_of


def _failure_entries(agg, per_source, keys_of):
    """Source -> its ``failures`` entries (not yet sorted or cut), of the entries that may be listed.

    Raw keys that name one entry (Invalid and Illegal user, ::ffff:a.b.c.d and a.b.c.d) add up before an external
    source's entries are cut to ``max_entries``, and ties are broken by user and kind, so that the entries listed
    neither miss counts nor depend on the order the keys were read in (files or journal, workers)."""
    by_source = {}
    for source, items in keys_of.items():
        internal = per_source[source][2]
        chosen = _group_keys(items, source, agg.max_user_length).items()
        if agg.max_entries and not internal and len(chosen) > agg.max_entries:
            chosen = sorted(chosen, key=lambda item: (-item[1][0], item[0][1], item[0][3]))[: agg.max_entries]
        for (_source, user, invalid, kind, method), (n, keys) in chosen:
            t_first, t_last = _key_times(agg, keys)
            entry = {
                "source": source,
                "user": user,
                "invalid_user": invalid,
                "kind": kind,
                "count": n,
                "internal": internal,
                "first_seen": iso_utc(t_first),
                "last_seen": iso_utc(t_last),
            }
            if kind == FAILED_OTHER:
                entry["method"] = user_text(method, 64)
            by_source.setdefault(source, []).append(entry)
    return by_source


def _group_keys(items, source, limit):
    """(source, user, invalid, kind, method) -> [count, raw keys] of one source's ``(count, key)`` items."""
    grouped = {}
    for n, key in items:
        tag, method, raw_user, flag, _raw_addr = key_fields(key)
        out_key = (source, user_text(raw_user, limit), _is_invalid(tag, flag), kind_name(tag, method), method)
        got = grouped.get(out_key)
        if got is None:
            grouped[out_key] = [n, [key]]
        else:
            got[0] += n
            got[1].append(key)
    return grouped


def _key_times(agg, keys):
    """The first and last epoch of the kind events of ``keys``."""
    t_first = t_last = None
    for key in keys:
        t_first = earliest(t_first, agg.first_clock[key].epoch(agg.first_tok[key]))
        t_last = latest(t_last, agg.last_clock[key].epoch(agg.last_tok[key]))
    return t_first, t_last


def _source_failures(source, entries, figures, max_entries):
    """The entries listed of one source, most frequent first, then its ``other`` entry if its entries do not hold
    all its kind events (and whether it has one); ``figures``: its [attempts, kind events, internal]."""
    items = sorted(entries, key=lambda e: (-e["count"], e["user"], e["kind"]))
    internal = figures[2]
    if max_entries and not internal and len(items) > max_entries:
        items = items[:max_entries]
    remainder = figures[1] - sum(e["count"] for e in items)
    if remainder > 0:
        items.append(
            {
                "source": source,
                "user": None,
                "invalid_user": None,
                "kind": OTHER,
                "count": remainder,
                "internal": internal,
                "first_seen": None,
                "last_seen": None,
            }
        )
    return items, remainder > 0


def _totals(agg, per_source, unlisted, with_other, accepted):
    """``totals``; the public names say "folded" for unlisted sources and logins."""
    by_kind = Counter()
    for (tag, method), n in agg.kinds.items():
        by_kind[kind_name(tag, method)] += n
    internal_sources = [src for src, got in per_source.items() if got[2]]
    return {
        "attempts": sum(got[0] for got in per_source.values()),
        "by_kind": dict(sorted(by_kind.items())),
        "sources": len(per_source),
        "internal_sources": len(internal_sources),
        "internal_attempts": sum(per_source[src][0] for src in internal_sources),
        "folded_sources": len(unlisted),
        "folded_attempts": sum(per_source[src][0] for src in unlisted),
        "folded_events": sum(per_source[src][1] for src in unlisted),
        "sources_with_other": with_other,
        "auth_lines": agg.rows,
        "unparsed": agg.unparsed,
        "unparsed_samples": [user_text(sample, 300) for sample in agg.samples],
        "accepted": sum(agg.accepted.values()) + agg.accepted_unlisted,
        "accepted_folded": agg.accepted_unlisted
        + sum(n for key, n in agg.accepted.items() if key in agg.unlisted_logins),
        "accepted_users": len({e["user"] for e in accepted}),
    }


def accepted_entries(agg):
    """``accepted``: the logins kept, by user, source, method and key, sorted."""
    book = agg.book
    out = []
    for (user, source, method, key_type, fingerprint), (n, t_first, t_last) in _accepted_counts(agg).items():
        out.append(
            {
                "user": user,
                "source": source,
                "internal": book.internal(source),
                "method": method,
                "key_type": key_type,
                "fingerprint": fingerprint,
                "count": n,
                "first_seen": iso_utc(t_first),
                "last_seen": iso_utc(t_last),
            }
        )
    out.sort(key=lambda e: (e["user"], e["source"], e["method"], e["fingerprint"] or ""))
    return out


def _accepted_counts(agg):
    """(user, source, method, key type, fingerprint) as listed -> [count, first epoch, last epoch]: raw keys that
    name one entry add up."""
    book = agg.book
    entries = {}
    for key, n in agg.accepted.items():
        if key in agg.unlisted_logins:  # counted again after it was unlisted: in accepted_folded
            continue
        user, raw_addr, method, key_type, fingerprint = key
        out_key = (
            user_text(user, agg.max_user_length),
            book.text(raw_addr),
            user_text(method, 64),
            user_text(key_type, 64) if key_type else None,
            user_text(fingerprint, 128) if fingerprint else None,
        )
        tok, clock = agg.acc_first.get(key, (None, JOURNAL_CLOCK))
        t_first = clock.epoch(tok)
        tok, clock = agg.acc_last.get(key, (None, JOURNAL_CLOCK))
        t_last = clock.epoch(tok)
        got = entries.get(out_key)
        if got is None:
            entries[out_key] = [n, t_first, t_last]
        else:
            got[0] += n
            got[1] = earliest(got[1], t_first)
            got[2] = latest(got[2], t_last)
    return entries
