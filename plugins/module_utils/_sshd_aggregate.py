# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Adding up sshd block summaries: :class:`Aggregator` (private to the collection; target side, Python 3.8+).

Closed summaries (``_sshd_summary``) are added in log order: their definite counts are tallied at once, their pending
items once the summaries within ``HORIZON`` of them are known (settling). The detail is bounded in memory; the
aggregators of parts of a log read apart (worker processes, the journal) are merged in log order; the module's
result is built by ``_sshd_result``.

Words: to **tally** is to add a summary's counts to the aggregator; to **merge** is to add another aggregator; an
**unlisted** source or login is counted in the totals only, not listed one by one (the module's ``folded_*`` and
``accepted_folded`` totals); to **prune** is to drop (source, user, kind) detail to bound memory (what a listed
source's entries then miss is its entry of kind ``other``).
"""

from __future__ import annotations

import heapq
from collections import Counter, deque
from itertools import compress, repeat
from operator import itemgetter, not_, or_

from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_clock import HORIZON, token_before
from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_parse import key_addr
from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_result import build_result
from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_summary import MAX_SAMPLES, count_into

MAX_DETAIL = 50000  # (source, user, kind) entries kept while reading; beyond, low-ranked external ones are dropped
MAX_ENTRIES_PER_SOURCE = 20  # entries of one external source in the output; the rest is one remainder entry
MAX_ACCEPTED = 20000  # distinct logins kept while reading; beyond, the least frequent external ones are unlisted
_get = itemgetter


class Aggregator(object):
    """Adds up block summaries, in log order, for the module's ``failures``, ``accepted`` and ``totals``.

    ``book``: an :class:`AddressBook` (normalised addresses, internal networks); ``top_external``: external sources
    kept one by one in the output; ``max_user_length``: bytes of a user name kept.

    Bounded memory: per source, attempts and kind events are always counted exactly. The (source, user, kind)
    detail is kept for every internal source and, once it holds more than ``max_detail`` entries, for the
    ``2 * top_external`` (at least 200) external sources with the most attempts so far, at most ``keep_per_source``
    entries each (see :meth:`_prune`); what a listed source's entries do not hold is its entry of kind ``other``.
    """

    def __init__(
        self, book, top_external=200, max_user_length=100, max_detail=MAX_DETAIL, max_entries=MAX_ENTRIES_PER_SOURCE
    ):
        self.book = book
        self.max_entries = max_entries
        self.top_external = top_external
        self.max_user_length = max_user_length
        self.max_detail = max(int(max_detail), 1000)
        self.keep_external = max(2 * top_external, 200)
        # entries kept per external source when its detail is trimmed (its other failures are one "other" entry)
        self.keep_per_source = max(2 * max_entries, 40) if max_entries else 1000
        self.counts = Counter()
        self.first_tok = {}
        self.first_clock = {}
        self.last_tok = {}
        self.last_clock = {}
        self.attempts = Counter()
        self.events = Counter()
        self.kinds = Counter()
        self.accepted = Counter()
        self.acc_first = {}
        self.acc_last = {}
        self.detail = None  # None: every source's detail is kept; else the raw addresses whose detail is kept
        self.threshold = 2  # kind events from which a new source's detail is kept, once detail is limited
        self.closed = set()  # external sources whose detail was trimmed: they take no new entries
        # Truth of the detail: a source some of whose kind events were not kept (dropped while its detail was not
        # kept, or pruned) is lossy; a key created after that may miss events, so it is partial and never listed
        # (its events count in its source's "other" entry).
        self.lossy = set()
        self.partial = set()
        self.internal_raw = set()
        self.known_raw = set()
        self.window = deque()  # recent summaries: (t0, t1, summary)
        self.pending = deque()  # summaries whose pending items are not settled yet
        self.tallies = 0
        self.rows = 0
        self.unparsed = 0
        self.samples = []
        self.accepted_unlisted = 0
        self.unlisted_logins = set()  # unlisted to bound memory: seen again, their count would be partial

    def fresh(self):
        """An empty aggregator with the same settings (for a worker's part of a file)."""
        return Aggregator(self.book, self.top_external, self.max_user_length, self.max_detail, self.max_entries)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["book"] = None  # the caller reattaches its own (its caches are not worth sending)
        return state

    # -- adding -------------------------------------------------------------------------------------------

    def add(self, summary):
        """Add a closed summary (its definite counts now, its pending items once HORIZON has passed)."""
        clock = summary.clock
        t0, t1 = self._span(summary)
        self.rows += summary.rows
        self.unparsed += summary.unparsed
        self.samples.extend(summary.samples[: max(0, MAX_SAMPLES - len(self.samples))])
        self._tally(summary.keys, summary.tokens, summary.key_addrs, summary.attempt_addrs, clock)
        self._tally_weighted(summary.weighted, clock)
        self.kinds.update(summary.kinds)
        summary.keys = summary.tokens = summary.key_addrs = summary.attempt_addrs = summary.weighted = None
        if summary.accepted:
            self.accepted.update(summary.accepted)
            for key, token in summary.acc_first.items():
                if key not in self.acc_first:
                    self.acc_first[key] = (token, clock)
            for key, token in summary.acc_last.items():
                self.acc_last[key] = (token, clock)
            if len(self.accepted) > MAX_ACCEPTED:
                self._unlist_logins()
        entry = (t0, t1, summary)
        self.window.append(entry)
        if summary.pending():
            self.pending.append(entry)
        if t1 is not None:
            self._settle(t1)

    def add_context(self, summary):
        """A summary of lines read only for context (a neighbour of a worker's part): it tells which connections
        failed or logged in, nothing of it is counted."""
        t0, t1 = self._span(summary)
        self.window.append((t0, t1, summary))

    @staticmethod
    def _span(summary):
        """The time span of a summary from its first and last line (logs are in time order; a step back at a block's
        edge only widens it)."""
        clock = summary.clock
        t0 = clock.epoch(summary.t_first)
        t1 = clock.epoch(summary.t_last)
        if t0 is None or t1 is None:
            return (t0 if t0 is not None else t1), (t1 if t1 is not None else t0)
        return min(t0, t1), max(t0, t1)

    def _new_addresses(self, addrs):
        new = set(addrs) - self.known_raw
        if new:
            self.known_raw |= new
            internal = {addr for addr in new if self._internal(addr)}
            if internal:
                self.internal_raw |= internal
                if self.detail is not None:
                    self.detail |= internal

    def _tally(self, keys, tokens, key_addrs, attempt_addrs, clock):
        """Tally kind events (C-level): ``keys``/``tokens``/``key_addrs`` in log order, the sources of attempts."""
        if attempt_addrs:
            count_into(self.attempts, attempt_addrs)
        if not keys:
            return
        self._new_addresses(key_addrs)
        count_into(self.events, key_addrs)
        if self.detail is not None:
            self._promote(key_addrs)
            mask = list(map(self.detail.__contains__, key_addrs))
            if not all(mask):  # a key already kept is counted even when its source takes no new ones
                mask = list(map(or_, mask, map(self.counts.__contains__, keys)))
            if not all(mask):
                self.lossy.update(compress(key_addrs, map(not_, mask)))
                keys = list(compress(keys, mask))
                tokens = list(compress(tokens, mask))
                key_addrs = list(compress(key_addrs, mask))
                if not keys:
                    return
        count_into(self.counts, keys)
        self.last_tok.update(zip(keys, tokens))
        self.last_clock.update(zip(keys, repeat(clock)))
        first = dict(zip(reversed(keys), reversed(tokens)))
        new = first.keys() - self.first_tok.keys()
        if new:
            self.first_tok.update(zip(new, map(first.__getitem__, new)))
            self.first_clock.update(zip(new, repeat(clock)))
            if self.lossy:
                addr_of = dict(zip(keys, key_addrs))
                self.partial.update(key for key in new if addr_of[key] in self.lossy)
        self.tallies += 1
        if len(self.counts) > self.max_detail:
            self._prune()
        elif self.detail is not None and self.tallies % 64 == 0:
            self.detail |= self._top_external() - self.closed

    def _tally_weighted(self, items, clock):
        """Tally kind events that count ``n`` each: ``(key, addr, token, n, attempt)``."""
        if not items:
            return
        addrs = list(map(_get(1), items))
        self._new_addresses(addrs)
        events, attempts = self.events, self.attempts
        for _key, addr, _token, n, attempt in items:
            events[addr] += n
            if attempt:
                attempts[addr] += n
        detail = self.detail
        if detail is not None:
            self._promote(addrs)
        # Weighted events are tallied after the plain ones of their block, so their times are compared, not taken.
        counts, first_tok, first_clock, last_tok, last_clock = (
            self.counts,
            self.first_tok,
            self.first_clock,
            self.last_tok,
            self.last_clock,
        )
        for key, addr, token, n, _attempt in items:
            if key not in counts:
                if detail is not None and addr not in detail:
                    self.lossy.add(addr)
                    continue
                if addr in self.lossy:
                    self.partial.add(key)
            counts[key] += n
            old = last_tok.get(key)
            if old is None or not token_before(clock, token, last_clock[key], old):
                last_tok[key] = token
                last_clock[key] = clock
            old = first_tok.get(key)
            if old is None or token_before(clock, token, first_clock[key], old):
                first_tok[key] = token
                first_clock[key] = clock

    def _promote(self, addrs):
        """Keep the detail of a source that, with this block, has as many kind events as the sources kept."""
        events = self.events
        threshold = self.threshold
        new = set(addrs) - self.detail - self.closed
        if new:
            self.detail.update(addr for addr in new if events.get(addr, 0) >= threshold)

    def _top_external(self):
        ranked = _heap_top(self.keep_external, self.attempts, self.events, self.internal_raw)
        return set(ranked)

    def _prune(self):
        """Bound the detail: keep every internal source's; of the external sources, the ``keep_external`` with the
        most attempts keep at most ``keep_per_source`` entries each (their most frequent) and take no new ones once
        trimmed; the others' detail is dropped. Totals per source stay exact (the rest is their "other" entry)."""
        top = self._top_external()
        if top:
            self.threshold = max(2, min(self.events.get(addr, 0) for addr in top))
        by_source = {}
        for key, n in self.counts.items():
            addr = key_addr(key)
            if addr not in self.internal_raw:
                by_source.setdefault(addr, []).append((n, key))
        drop = set()
        trimmed = set()
        for addr, items in by_source.items():
            if addr not in top:
                drop.update(key for _n, key in items)
                self.lossy.add(addr)
            elif len(items) > self.keep_per_source:
                items.sort(key=_get(0), reverse=True)
                drop.update(key for _n, key in items[self.keep_per_source :])
                trimmed.add(addr)
        self.closed = (self.closed | trimmed) - self.internal_raw
        self.detail = (top - self.closed) | self.internal_raw
        self.lossy |= trimmed
        if drop:
            self.partial -= drop
            self.counts = Counter({key: n for key, n in self.counts.items() if key not in drop})
            for name in ("first_tok", "first_clock", "last_tok", "last_clock"):
                store = getattr(self, name)
                setattr(self, name, {key: value for key, value in store.items() if key not in drop})
        if len(self.counts) > self.max_detail * 0.8:  # internal sources are never trimmed: make room for them
            self.max_detail = int(len(self.counts) * 1.5)

    def _unlist_logins(self):
        """Bound the logins kept: the least frequent half of the external ones are counted in the totals only."""
        ranked = sorted(self.accepted.items(), key=lambda item: -item[1])
        for key, n in ranked[MAX_ACCEPTED // 2 :]:
            if self._internal(key[1]):
                continue
            self.accepted_unlisted += n
            self.unlisted_logins.add(key)
            del self.accepted[key]
            self.acc_first.pop(key, None)
            self.acc_last.pop(key, None)

    def _internal(self, raw_addr):
        return self.book.internal(self.book.text(raw_addr))

    # -- correlation --------------------------------------------------------------------------------------

    def _settle(self, now):
        """Settle pending items of summaries that ended more than HORIZON before ``now``; forget old summaries."""
        while self.pending and (self.pending[0][1] is None or self.pending[0][1] + HORIZON < now):
            self._settle_one(self.pending.popleft())
        oldest_pending = self.pending[0][0] if self.pending else None
        while self.window:
            t1 = self.window[0][1]
            if t1 is None or t1 + 2 * HORIZON < now:
                if oldest_pending is not None and t1 is not None and t1 + HORIZON >= oldest_pending:
                    break
                self.window.popleft()
            else:
                break

    def finish(self):
        """Settle everything still pending (end of a source: the next source's times are unrelated)."""
        while self.pending:
            self._settle_one(self.pending.popleft())
        self.window.clear()

    def _near(self, entry):
        t0, t1, summary = entry
        if t0 is None or t1 is None:
            return []
        return [
            other
            for o0, o1, other in self.window
            if other is not summary and o0 is not None and o1 is not None and o0 - HORIZON <= t1 and o1 + HORIZON >= t0
        ]

    def _settle_one(self, entry):
        summary = entry[2]
        keys, tokens, key_addrs, attempt_addrs, weighted, kinds = summary.settle(self._near(entry))
        self._tally(keys, tokens, key_addrs, attempt_addrs, summary.clock)
        self._tally_weighted(weighted, summary.clock)
        self.kinds.update(kinds)

    def merge_later(self, other):
        """Merge another finished aggregator whose lines all come after this one's (a later part of the logs)."""
        self.rows += other.rows
        self.unparsed += other.unparsed
        self.samples.extend(other.samples[: max(0, MAX_SAMPLES - len(self.samples))])
        self.attempts.update(other.attempts)
        self.events.update(other.events)
        self.kinds.update(other.kinds)
        # A key missing from one part whose source was lossy there may have lost events there: partial.
        partial = self.partial | other.partial
        if other.lossy:
            partial.update(key for key in self.counts.keys() - other.counts.keys() if key_addr(key) in other.lossy)
        if self.lossy:
            partial.update(key for key in other.counts.keys() - self.counts.keys() if key_addr(key) in self.lossy)
        self.partial = partial
        self.lossy |= other.lossy
        self.known_raw |= other.known_raw
        self.internal_raw |= other.internal_raw
        self.closed |= other.closed
        if other.detail is not None:
            self.detail = (self.detail if self.detail is not None else set(self.known_raw)) | other.detail
        elif self.detail is not None:
            self.detail |= other.known_raw
        self.counts.update(other.counts)
        new = other.first_tok.keys() - self.first_tok.keys()
        self.first_tok.update(zip(new, map(other.first_tok.__getitem__, new)))
        self.first_clock.update(zip(new, map(other.first_clock.__getitem__, new)))
        self.last_tok.update(other.last_tok)
        self.last_clock.update(other.last_clock)
        self.accepted.update(other.accepted)
        self.accepted_unlisted += other.accepted_unlisted
        self.unlisted_logins |= other.unlisted_logins
        for key, value in other.acc_first.items():
            self.acc_first.setdefault(key, value)
        self.acc_last.update(other.acc_last)
        if len(self.counts) > self.max_detail:
            self._prune()

    # -- output -------------------------------------------------------------------------------------------

    # -- output -------------------------------------------------------------------------------------------

    def result(self):
        """``(failures, accepted, totals)`` as the module returns them (call :meth:`finish` first)."""
        return build_result(self)


def _heap_top(n, attempts, events, exclude):
    """The ``n`` raw addresses not in ``exclude`` with the most attempts (then kind events, then the address: the
    set's order changes with each process's hash seed, the choice must not)."""
    candidates = (addr for addr in events.keys() | attempts.keys() if addr not in exclude)
    return heapq.nlargest(n, candidates, key=lambda addr: (attempts.get(addr, 0), events.get(addr, 0), addr))
