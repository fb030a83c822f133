# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Counting sshd authentication failures and logins (private to the collection; target side, Python 3.8+).

Rows (``_sshd_parse``: one per log line of interest, laid out as ``BLOCK_RE``'s groups) are summarised per block
(:class:`Summary`, the per-line work done with C-level ``zip``/``Counter``/``set`` operations), and the summaries are
folded, in log order, into an :class:`Aggregator` that correlates the lines of one connection across blocks and
keeps the result bounded.

What counts (the rules are also in docs/modules/sshd_auth_info.md):

- A **connection** is identified by its sshd process id (syslog ``sshd[PID]``, journal ``_PID``): sshd forks one
  process per connection and logs every line of it, ``[preauth]`` ones included, under that pid. Two lines of one
  pid belong to the same connection when they are at most ``HORIZON`` seconds apart (pids are reused).
- An **attempt** is one failed authentication try: each ``Failed <method>`` line is one (``message repeated N
  times`` is N). A connection that failed without any ``Failed`` line (an unknown user that only probed, a user
  refused by AllowUsers, ROOT LOGIN REFUSED, too many failures, a failure only PAM logged, a client that gave up
  during authentication) counts as one attempt, or as the number of failures PAM counted.
- ``Failed publickey``/``none``/``hostbased`` lines of a connection that then logs in are negotiation (a client
  offering its keys in turn), not failures: they are dropped.
- **Kinds** (``failures[].kind``) count lines of a kind after that de-duplication; they overlap (one attempt by an
  unknown user with a password is one ``invalid_user`` and one ``failed_password``): ``invalid_user`` counts
  connections naming a user that does not exist, ``failed_<method>`` each failed try, ``not_allowed`` and
  ``root_refused`` refused connections, ``too_many_failures`` connections cut for too many failures (once, even
  when sshd logs both of its messages), ``pam_failure`` the failures of connections where only PAM logged them,
  ``closed_preauth`` connections closed during the authentication of a named user with no other failure logged.
"""

from __future__ import annotations

import heapq
import time
from collections import Counter, deque

try:
    from collections import _count_elements
except ImportError:  # pragma: no cover - other Pythons

    def _count_elements(counter, items):
        for item in items:
            counter[item] = counter.get(item, 0) + 1


from itertools import compress, filterfalse, repeat
from operator import itemgetter, not_, or_

from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_parse import (
    ACCEPTED,
    CLOSED,
    CLOSED_FIELDS_RE,
    CLOSED_PREAUTH,
    FAILED,
    FAILED_OTHER,
    INVALID,
    INVALID_USER,
    KNOWN_METHODS,
    NEGOTIATION_METHODS,
    NOT_ALLOWED,
    PAM,
    PAM_FAILURE,
    REPEATED,
    ROOT_REFUSED,
    ROW_SIZE,
    TOO_MANY,
    failed_key,
    invalid_key,
    key_addr,
    key_fields,
    parse_message,
    user_text,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._timestamps import (
    dated_epoch,
    iso_utc,
    parse_rfc3339,
    parse_traditional,
    traditional_seconds,
)

HORIZON = 600  # seconds: lines of one pid further apart than this are not taken as one connection
TOLERANCE = 2 * 86400  # a traditional line up to this much after the file's last line is still in the last's year
MAX_DETAIL = 50000  # (source, user, kind) entries kept while reading; beyond, low-ranked external ones are dropped
MAX_ENTRIES_PER_SOURCE = 20  # entries of one external source in the output; the rest is one remainder entry
MAX_ACCEPTED = 20000
MAX_SAMPLES = 10

# Key tags: a key is (tag, method, addr, user, invalid) with bytes items; tag F (a Failed line, method set),
# I invalid user, N not allowed, R root refused, T too many failures, P PAM failure, C closed during authentication.
_TAGS = {
    b"I": INVALID_USER,
    b"N": NOT_ALLOWED,
    b"R": ROOT_REFUSED,
    b"T": TOO_MANY,
    b"P": PAM_FAILURE,
    b"C": CLOSED_PREAUTH,
}
_OTHER_TAGS = {NOT_ALLOWED: b"N", ROOT_REFUSED: b"R", TOO_MANY: b"T"}
_INVALID = b"invalid"
_PAM_UNKNOWN = b"unknown"
_get = itemgetter
OTHER = "other"  # the failures of a source not listed one by one


def kind_name(tag, method):
    """The ``kind`` text of a key's tag and method."""
    if tag == b"F":
        return KNOWN_METHODS.get(method, FAILED_OTHER)
    return _TAGS[tag]


def _is_invalid(tag, flag):
    if tag == b"I":
        return True
    return bool(flag) and flag != b"authenticating"


# --------------------------------------------------------------------------------------------------- time


class Clock(object):
    """Epoch seconds of the time tokens of one log file (or of the journal, whose tokens already are epochs).

    A traditional timestamp has no year: it gets ``last_year``, the year of the file's last line (from the file's
    modification time or the ``year`` option), unless that would put it more than ``TOLERANCE`` after the last
    line, then the year before. Files span less than a year; a rotated file has its own clock.
    """

    def __init__(self, zone=None, last_year=None, last_seconds=None):
        self.zone = zone
        self.last_year = last_year
        self.last_seconds = last_seconds
        self._minutes = {}

    def epoch(self, token):
        if token is None or token == b"":
            return None
        if isinstance(token, float):
            return token
        if token[:1].isdigit():
            got = parse_rfc3339(token)
            if got is None:
                return None
            try:
                return dated_epoch(self.zone, *got[1:])
            except (ValueError, OverflowError):
                return None
        minute_key = token[:-3]
        base = self._minutes.get(minute_key)
        if base is None:
            got = parse_traditional(token)
            if got is None or self.zone is None:
                return None
            _end, month, day, hour, minute, _second = got
            year = self.last_year if self.last_year is not None else time.gmtime().tm_year
            late = self.last_seconds is not None and (
                traditional_seconds(month, day, hour, minute, 0) > self.last_seconds + TOLERANCE
            )
            if late:
                year -= 1
            try:
                base = float(self.zone.local_to_utc(year, month, day, hour, minute, 0))
            except (ValueError, OverflowError):
                base = False
            if len(self._minutes) > 100000:
                self._minutes.clear()
            self._minutes[minute_key] = base
        if base is False:
            return None
        try:
            return base + int(token[-2:])
        except ValueError:
            return None


JOURNAL_CLOCK = Clock()


# --------------------------------------------------------------------------------------------------- summary


class Summary(object):
    """What one block of rows says, before correlation with the neighbouring blocks.

    Definite counts, as lists in log order (folded with C-level operations): ``keys``/``tokens`` a detail key and
    the time token of each kind event; ``attempt_addrs``/``event_addrs`` the source of each attempt and kind event;
    ``weighted`` the kind events of single records (repeated lines, the less common forms), ``(key, addr, token, n,
    attempt)``, whose times are compared when folded; ``kinds`` counts per (tag, method).
    Correlation: ``fail``/``evidence``/``accepted_pids``, the pids with a Failed line, with any failure, that logged
    in. Pending until the neighbouring blocks are known: ``nofail`` (pid -> (addr, token): the attempt of a
    connection whose failure was not a Failed line, counted if the pid has no Failed line nearby), ``pam`` (pid ->
    (rhost, user, invalid, n, first token, last token): PAM failures, counted if no Failed line nearby),
    ``noevidence`` (pid -> (message, token): a connection closed during authentication, counted if the pid logged
    no failure at all nearby), ``noaccept`` (negotiation failures, counted if the pid does not log in).
    """

    def __init__(self, clock):
        self.clock = clock
        self.keys = []
        self.tokens = []
        self.key_addrs = []
        self.attempt_addrs = []
        self.weighted = []
        self.kinds = Counter()
        self.methods = Counter()
        self.fail = set()
        self.evidence = set()
        self.accepted_pids = set()
        self.nofail = {}
        self.noevidence = {}
        self.pam = {}
        self.pam_pids = []
        self.pam_tokens = []
        self.pam_messages = []
        self.closed_pids = []
        self.closed_tokens = []
        self.closed_messages = []
        self.pam_extra = {}  # pid -> [rhost, user, illegal, n, first token, last token] from single records
        self.too_many_pids = set()
        self.addrless = []  # (tag, pid, user, invalid, token, n) of lines without a source address
        self.pid_cols = []  # (pids, addrs) columns, to find the address of an addrless line's connection
        self.noaccept = []
        self.accepted = Counter()
        self.acc_first = {}
        self.acc_last = {}
        self.t_first = None
        self.t_last = None
        self.rows = 0
        self.unparsed = 0
        self.samples = []
        self.lines = 0

    # -- bulk: the common forms, C-level -------------------------------------------------------------------

    def add_rows(self, rows):
        """Add rows (tuples laid out as the block search's groups) in log order."""
        if rows:
            self.add_columns([list(map(_get(index), rows)) for index in range(ROW_SIZE)])

    def add_columns(self, cols):
        """Add rows given as columns (lists of the block search's groups, in log order, ``ROW_SIZE`` of them)."""
        tscol, pidcol, keycol, methcol, invcol, addrcol, pamcol, closedcol = cols[:8]
        timescol, rkeycol, rmethcol, raddrcol, restcol = cols[8:]
        n = len(tscol)
        if not n:
            return
        self.rows += n
        if self.t_first is None:
            self.t_first = tscol[0]
        self.t_last = tscol[-1]
        found = 0
        if any(keycol):
            found = self._bulk_keys(tscol, pidcol, keycol, methcol, invcol, addrcol)
        if any(pamcol):
            pids = list(compress(pidcol, pamcol))
            found += len(pids)
            self.pam_pids.extend(pids)
            self.pam_tokens.extend(compress(tscol, pamcol))
            self.pam_messages.extend(compress(pamcol, pamcol))
        if any(closedcol):
            pids = list(compress(pidcol, closedcol))
            found += len(pids)
            self.closed_pids.extend(pids)
            self.closed_tokens.extend(compress(tscol, closedcol))
            self.closed_messages.extend(compress(closedcol, closedcol))
        if found < n and any(timescol):
            repeated = list(compress(zip(tscol, pidcol, timescol, rkeycol, rmethcol, raddrcol), timescol))
            found += len(repeated)
            for token, pid, times, key, method, addr in repeated:
                self._failed(token, pid, key, method, addr, int(times))
        if found < n:
            for token, pid, message in compress(zip(tscol, pidcol, restcol), restcol):
                self.add_message(token, pid, message, counted=True)

    def _bulk_keys(self, tscol, pidcol, keycol, methcol, invcol, addrcol):
        """Failed and Invalid user rows; returns how many there were. (An empty group is ``None`` or ``b""``.)"""
        found = len(keycol) - keycol.count(None) - keycol.count(b"")
        self.pid_cols.append((pidcol, addrcol))
        self.fail.update(compress(pidcol, methcol))
        if not NEGOTIATION_METHODS.isdisjoint(methcol):
            keycol, methcol = list(keycol), list(methcol)
            for index, method in enumerate(methcol):
                if method in NEGOTIATION_METHODS:
                    self.noaccept.append((pidcol[index], addrcol[index], keycol[index], 1, tscol[index]))
                    keycol[index] = methcol[index] = b""
        self.keys.extend(compress(keycol, keycol))
        self.tokens.extend(compress(tscol, keycol))
        self.key_addrs.extend(compress(addrcol, keycol))
        self.attempt_addrs.extend(compress(addrcol, methcol))
        _count(self.methods, compress(methcol, methcol))
        if any(invcol):
            self.kinds[(b"I", b"")] += len(invcol) - invcol.count(None) - invcol.count(b"")
            self.nofail.update(zip(compress(pidcol, invcol), zip(compress(addrcol, invcol), compress(tscol, invcol))))
        return found

    # -- one record at a time: the less common forms, the journal's odd lines, repeats ----------------------

    def _event(self, key, addr, token, n, attempt, kind=None):
        """A definite kind event (and attempt) from a single record; ``kind``: its (tag, method) when known. Single
        records are handled after the common rows of their slice, so they go with the weighted events, whose times
        are compared when folded (``keys`` stays in log order)."""
        self.weighted.append((key, addr, token, n, attempt))
        if kind is None:
            kind = key_fields(key)[:2] if isinstance(key, bytes) else (key[0], b"")
        self.kinds[kind] += n

    def add_message(self, token, pid, message, n=1, counted=False):
        """One message that is not a common row (or a repeated one, ``n`` times); ``counted``: already in ``rows``."""
        if not counted:  # a row of add_columns: the block's first and last times are already set from its column
            self.rows += 1
            if self.t_first is None:
                self.t_first = token
            self.t_last = token
        parsed = parse_message(message)
        if parsed is None:
            self.unparsed += 1
            if len(self.samples) < MAX_SAMPLES:
                self.samples.append(message[:300])
            return
        if parsed[0] == REPEATED:
            count, parsed = parsed[1]
            n *= count
        self._add_parsed(token, pid, parsed, n)

    def _failed(self, token, pid, key, method, addr, n):
        """A Failed line (``n`` times)."""
        self.pid_cols.append(((pid,), (addr,)))
        self.fail.add(pid)
        if method in NEGOTIATION_METHODS:
            self.noaccept.append((pid, addr, key, n, token))
        else:
            self._event(key, addr, token, n, True, (b"F", method))

    def _add_parsed(self, token, pid, parsed, n):
        form, fields = parsed
        if form == FAILED:
            method, invalid, user, addr, _port, _ktype, _fp = fields
            self._failed(token, pid, failed_key(method, invalid, user, addr), method, addr, n)
        elif form == INVALID:
            user, addr, _port = fields
            self.pid_cols.append(((pid,), (addr,)))
            self._event(invalid_key(user, addr), addr, token, n, False)
            self.nofail[pid] = (addr, token)
        elif form == PAM:
            rhost, user, illegal, count = fields
            got = self.pam_extra.get(pid)
            if got is None:
                self.pam_extra[pid] = [rhost, user, illegal, count * n, token, token]
            else:
                got[3] += count * n
                got[5] = token
                if user and not got[1]:
                    got[1], got[2] = user, illegal
        elif form == CLOSED:
            verb, state, user, addr, _port = fields
            if verb == b"Disconnecting":
                self._too_many(pid, user, state, addr, token)
            else:
                self.noevidence[pid] = (parsed, token)
        elif form == ACCEPTED:
            method, user, addr, _port, key_type, fingerprint = fields
            key = (user, addr, method, key_type or b"", fingerprint or b"")
            self.accepted[key] += n
            self.acc_first.setdefault(key, token)
            self.acc_last[key] = token
            self.accepted_pids.add(pid)
        elif form == TOO_MANY:
            user, invalid, addr, _port, _extra = fields
            self._too_many(pid, user, invalid, addr, token)
        else:
            user, invalid, addr, _port, _extra = fields
            self._other(_OTHER_TAGS[form], pid, user, invalid, addr, token, n)

    def _too_many(self, pid, user, state, addr, token):
        if pid in self.too_many_pids:
            return
        self.too_many_pids.add(pid)
        self._other(b"T", pid, user, state, addr, token, 1)

    def _other(self, tag, pid, user, invalid, addr, token, n):
        """A connection-level failure (not allowed, root refused, too many failures): its kind now, its attempt
        pending (counted when the connection logged no Failed line)."""
        if not addr:
            self.addrless.append((tag, pid, user, invalid, token, n))
            return
        self._event((tag, user, invalid, addr), addr, token, n, False)
        self.evidence.add(pid)
        self.nofail[pid] = (addr, token)

    # -- end of block -------------------------------------------------------------------------------------

    def close(self):
        """Settle what this block alone settles (C-level set operations); the rest stays pending."""
        for method, n in self.methods.items():
            self.kinds[(b"F", method)] += n
        self.methods = None
        if self.closed_pids:
            self._closed_close()
        if self.addrless:
            self._place_addrless()
        evidence = self.evidence
        evidence |= self.fail
        evidence.update(self.nofail)
        evidence |= self.too_many_pids
        if self.pam_pids or self.pam_extra:
            self._pam_close(evidence)
        if self.nofail:
            self.nofail = _without(self.nofail, self.fail)
        if self.noevidence:
            self.noevidence = _without(self.noevidence, evidence)
        if self.noaccept and self.accepted_pids:
            self.noaccept = [item for item in self.noaccept if item[0] not in self.accepted_pids]
        self.pid_cols = self.pam_extra = None
        self.pam_pids = self.pam_tokens = self.pam_messages = None
        self.closed_pids = self.closed_tokens = self.closed_messages = None
        return self

    def _closed_close(self):
        messages = self.closed_messages
        cut = list(map(bytes.startswith, messages, repeat(b"Disconnecting")))
        if any(cut):
            for token, pid, message in compress(zip(self.closed_tokens, self.closed_pids, messages), cut):
                self.add_message(token, pid, message, counted=True)
            keep = [not flag for flag in cut]
            self.noevidence.update(
                zip(compress(self.closed_pids, keep), zip(compress(messages, keep), compress(self.closed_tokens, keep)))
            )
        else:
            self.noevidence.update(zip(self.closed_pids, zip(messages, self.closed_tokens)))

    def _pam_close(self, evidence):
        """PAM failures of pids without a Failed line in this block stay pending (rarely any)."""
        pids = self.pam_pids
        evidence.update(pids)
        evidence.update(self.pam_extra)
        pending = (set(pids) | self.pam_extra.keys()) - self.fail
        if not pending:
            return
        info = {}
        for pid, token, message in zip(pids, self.pam_tokens, self.pam_messages):
            if pid not in pending:
                continue
            got = info.get(pid)
            if got is None:
                info[pid] = [message, None, None, 1, token, token]
            else:
                got[0] = message
                got[3] += 1
                got[5] = token
        for pid, extra in self.pam_extra.items():
            if pid not in pending:
                continue
            got = info.get(pid)
            if got is None:
                info[pid] = list(extra)
            else:
                got[3] += extra[3]
                got[5] = extra[5]
                if extra[1]:
                    got[0], got[1], got[2] = extra[0], extra[1], extra[2]
        for pid, (source, user, illegal, n, first, last) in info.items():
            rhost, user, invalid = _pam_source(source if user is None else (source, user, illegal))
            self.pam[pid] = (rhost, user, invalid, n, first, last)

    def pending(self):
        return bool(self.nofail or self.noevidence or self.pam or self.noaccept)

    def _place_addrless(self):
        """Give lines logged without an address (old ``Disconnecting: Too many authentication failures for X``,
        ``User X not allowed because account is locked``) the address of their connection's other lines."""
        pid_addr = {}
        for pids, addrs in self.pid_cols:
            pid_addr.update(compress(zip(pids, addrs), addrs))
        records, self.addrless = self.addrless, []
        for tag, pid, user, invalid, token, n in records:
            addr = pid_addr.get(pid)
            if not addr and pid in self.pam_pids:
                addr = _pam_source(self.pam_messages[self.pam_pids.index(pid)])[0]
            self._other(tag, pid, user, invalid, addr or b"unknown", token, n)


def _closed_fields(messages):
    """(verb, state, user, addr, port) of closed-connection messages (bytes, or already parsed), in order."""
    if all(isinstance(message, bytes) for message in messages):
        found = CLOSED_FIELDS_RE.findall(b"\n" + b"\n".join(messages) + b"\n")
        if len(found) == len(messages):
            return found
    out = []
    for message in messages:
        parsed = parse_message(message) if isinstance(message, bytes) else message
        if parsed is None or parsed[0] != CLOSED:
            out.append((b"", b"", b"", b"unknown", b""))
        else:
            out.append(parsed[1])
    return out


def _pam_source(info):
    """(rhost, user, invalid flag) of a PAM failure: a failure without ``user=`` is for a user PAM does not know."""
    if isinstance(info, bytes):
        parsed = parse_message(info)
        info = parsed[1][:3] if parsed is not None and parsed[0] == PAM else (b"", b"", b"")
    rhost, user, illegal = info
    return rhost or b"unknown", user, illegal or (b"" if user else _PAM_UNKNOWN)


def _without(mapping, pids):
    """``mapping`` without the keys in ``pids``, in its order (C-level filter)."""
    if not mapping:
        return mapping
    drop = mapping.keys() & pids
    if not drop:
        return mapping
    if len(drop) == len(mapping):
        return {}
    kept = list(filterfalse(drop.__contains__, mapping))
    return dict(zip(kept, map(mapping.__getitem__, kept)))


# --------------------------------------------------------------------------------------------------- aggregator


class Aggregator(object):
    """Folds block summaries, in log order, into the module's ``failures``, ``accepted`` and ``totals``.

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
        self.folds = 0
        self.rows = 0
        self.unparsed = 0
        self.samples = []
        self.accepted_folded = 0
        self.accepted_dropped = set()  # logins folded to bound memory: seen again, their count would be partial

    def fresh(self):
        """An empty aggregator with the same settings (for a worker's part of a file)."""
        return Aggregator(self.book, self.top_external, self.max_user_length, self.max_detail, self.max_entries)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["book"] = None  # the caller reattaches its own (its caches are not worth sending)
        return state

    # -- folding ------------------------------------------------------------------------------------------

    def add(self, summary):
        """Fold a closed summary (its definite counts now, its pending items once HORIZON has passed)."""
        clock = summary.clock
        t0, t1 = self._span(summary)
        self.rows += summary.rows
        self.unparsed += summary.unparsed
        self.samples.extend(summary.samples[: max(0, MAX_SAMPLES - len(self.samples))])
        self._fold(summary.keys, summary.tokens, summary.key_addrs, summary.attempt_addrs, clock)
        self._fold_weighted(summary.weighted, clock)
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
                self._prune_accepted()
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

    def _fold(self, keys, tokens, key_addrs, attempt_addrs, clock):
        """Fold kind events (C-level): ``keys``/``tokens``/``key_addrs`` in log order, the sources of attempts."""
        if attempt_addrs:
            _count(self.attempts, attempt_addrs)
        if not keys:
            return
        self._new_addresses(key_addrs)
        _count(self.events, key_addrs)
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
        _count(self.counts, keys)
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
        self.folds += 1
        if len(self.counts) > self.max_detail:
            self._prune()
        elif self.detail is not None and self.folds % 64 == 0:
            self.detail |= self._top_external() - self.closed

    def _fold_weighted(self, items, clock):
        """Fold kind events that count ``n`` each: ``(key, addr, token, n, attempt)``."""
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
        # Weighted events are folded after the plain ones of their block, so their times are compared, not taken.
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
            if old is None or not _before(clock, token, last_clock[key], old):
                last_tok[key] = token
                last_clock[key] = clock
            old = first_tok.get(key)
            if old is None or _before(clock, token, first_clock[key], old):
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

    def _prune_accepted(self):
        ranked = sorted(self.accepted.items(), key=lambda item: -item[1])
        for key, n in ranked[MAX_ACCEPTED // 2 :]:
            if self._internal(key[1]):
                continue
            self.accepted_folded += n
            self.accepted_dropped.add(key)
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
        others = self._near(entry)
        keys, tokens, key_addrs, attempt_addrs = [], [], [], []
        weighted = []
        kinds = Counter()
        clock = summary.clock
        if summary.nofail or summary.pam:
            fail = set().union(*(other.fail for other in others)) if others else set()
            nofail = _without(summary.nofail, fail)
            if nofail:
                attempt_addrs.extend(map(_get(0), nofail.values()))
            for rhost, user, invalid, n, tok_first, tok_last in _without(summary.pam, fail).values():
                key = (b"P", user, invalid, rhost)
                weighted.append((key, rhost, tok_first, 1, True))
                if n > 1:
                    weighted.append((key, rhost, tok_last, n - 1, True))
                kinds[(b"P", b"")] += n
        if summary.noevidence:
            evidence = set().union(*(other.evidence for other in others)) if others else set()
            noevidence = _without(summary.noevidence, evidence)
            if noevidence:
                items = list(noevidence.values())
                fields = _closed_fields(list(map(_get(0), items)))
                keys = [(b"C", user, state, addr) for _verb, state, user, addr, _port in fields]
                tokens = list(map(_get(1), items))
                key_addrs = list(map(_get(3), keys))
                attempt_addrs.extend(key_addrs)
                kinds[(b"C", b"")] += len(items)
        if summary.noaccept:
            accepted = set().union(*(other.accepted_pids for other in others)) if others else set()
            for pid, addr, key, n, token in summary.noaccept:
                if pid not in accepted:
                    weighted.append((key, addr, token, n, True))
                    kinds[key_fields(key)[:2]] += n
        summary.nofail = summary.noevidence = summary.pam = {}
        summary.noaccept = []
        self._fold(keys, tokens, key_addrs, attempt_addrs, clock)
        self._fold_weighted(weighted, clock)
        self.kinds.update(kinds)

    def merge_later(self, other):
        """Fold another finished aggregator whose lines all come after this one's (a later part of the logs)."""
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
        self.accepted_folded += other.accepted_folded
        self.accepted_dropped |= other.accepted_dropped
        for key, value in other.acc_first.items():
            self.acc_first.setdefault(key, value)
        self.acc_last.update(other.acc_last)
        if len(self.counts) > self.max_detail:
            self._prune()

    # -- output -------------------------------------------------------------------------------------------

    def result(self):
        """``(failures, accepted, totals)`` as the module returns them (call :meth:`finish` first)."""
        book = self.book
        limit = self.max_user_length
        per_source = {}  # normalised source -> [attempts, events, internal]
        for raw in self.attempts.keys() | self.events.keys():
            text = book.text(raw)
            got = per_source.get(text)
            if got is None:
                got = per_source[text] = [0, 0, book.internal(text)]
            got[0] += self.attempts[raw]
            got[1] += self.events[raw]
        external = sorted(
            (src for src, got in per_source.items() if not got[2]),
            key=lambda src: (-per_source[src][0], -per_source[src][1], src),
        )
        kept = set(external[: self.top_external]) | {src for src, got in per_source.items() if got[2]}
        folded = external[self.top_external :]
        kept_raw = {}
        for raw in self.known_raw | self.events.keys():
            source = book.text(raw)
            if source in kept:
                kept_raw[raw] = source
        keys_of = {}  # normalised source -> [(count, key)]
        for key, n in self.counts.items():
            source = kept_raw.get(key_addr(key))
            if source is not None and key not in self.partial:  # a partial key's events stay in "other"
                keys_of.setdefault(source, []).append((n, key))
        entries = {}
        # Raw keys that name one entry (Invalid and Illegal user, ::ffff:a.b.c.d and a.b.c.d) add up before an
        # external source's entries are cut to max_entries, and ties are broken by user and kind, so that the entries
        # listed neither miss counts nor depend on the order the keys were read in (files or journal, workers).
        # Times are computed for the entries listed only.
        for source, items in keys_of.items():
            grouped = {}  # entry key -> [count, raw keys]
            for n, key in items:
                tag, method, raw_user, flag, _raw_addr = key_fields(key)
                out_key = (source, user_text(raw_user, limit), _is_invalid(tag, flag), kind_name(tag, method), method)
                got = grouped.get(out_key)
                if got is None:
                    grouped[out_key] = [n, [key]]
                else:
                    got[0] += n
                    got[1].append(key)
            chosen = grouped.items()
            if self.max_entries and not per_source[source][2] and len(grouped) > self.max_entries:
                chosen = sorted(chosen, key=lambda item: (-item[1][0], item[0][1], item[0][3]))[: self.max_entries]
            for out_key, (n, keys) in chosen:
                t_first = t_last = None
                for key in keys:
                    t_first = _min(t_first, self.first_clock[key].epoch(self.first_tok[key]))
                    t_last = _max(t_last, self.last_clock[key].epoch(self.last_tok[key]))
                entries[out_key] = [n, t_first, t_last]
        by_source = {}
        for (source, user, invalid, kind, method), (n, t_first, t_last) in entries.items():
            entry = {
                "source": source,
                "user": user,
                "invalid_user": invalid,
                "kind": kind,
                "count": n,
                "internal": per_source[source][2],
                "first_seen": iso_utc(t_first),
                "last_seen": iso_utc(t_last),
            }
            if kind == FAILED_OTHER:
                entry["method"] = user_text(method, 64)
            by_source.setdefault(source, []).append(entry)
        failures = []
        dropped_sources = 0
        for source in kept:
            items = sorted(by_source.get(source, ()), key=lambda e: (-e["count"], e["user"], e["kind"]))
            internal = per_source[source][2]
            if self.max_entries and not internal and len(items) > self.max_entries:
                items = items[: self.max_entries]
            failures.extend(items)
            remainder = per_source[source][1] - sum(e["count"] for e in items)
            if remainder > 0:
                dropped_sources += 1
                failures.append(
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
        failures.sort(key=lambda e: (-e["count"], e["source"], e["user"] or "", e["kind"]))
        accepted = self._accepted_entries()
        by_kind = Counter()
        for (tag, method), n in self.kinds.items():
            by_kind[kind_name(tag, method)] += n
        internal_sources = [src for src, got in per_source.items() if got[2]]
        totals = {
            "attempts": sum(got[0] for got in per_source.values()),
            "by_kind": dict(sorted(by_kind.items())),
            "sources": len(per_source),
            "internal_sources": len(internal_sources),
            "internal_attempts": sum(per_source[src][0] for src in internal_sources),
            "folded_sources": len(folded),
            "folded_attempts": sum(per_source[src][0] for src in folded),
            "folded_events": sum(per_source[src][1] for src in folded),
            "sources_with_other": dropped_sources,
            "auth_lines": self.rows,
            "unparsed": self.unparsed,
            "unparsed_samples": [user_text(sample, 300) for sample in self.samples],
            "accepted": sum(self.accepted.values()) + self.accepted_folded,
            "accepted_folded": self.accepted_folded
            + sum(n for key, n in self.accepted.items() if key in self.accepted_dropped),
            "accepted_users": len({e["user"] for e in accepted}),
        }
        return failures, accepted, totals

    def _accepted_entries(self):
        book = self.book
        entries = {}
        for key, n in self.accepted.items():
            if key in self.accepted_dropped:  # counted again after it was folded: in accepted_folded
                continue
            user, raw_addr, method, key_type, fingerprint = key
            source = book.text(raw_addr)
            out_key = (
                user_text(user, self.max_user_length),
                source,
                user_text(method, 64),
                user_text(key_type, 64) if key_type else None,
                user_text(fingerprint, 128) if fingerprint else None,
            )
            tok, clock = self.acc_first.get(key, (None, JOURNAL_CLOCK))
            t_first = clock.epoch(tok)
            tok, clock = self.acc_last.get(key, (None, JOURNAL_CLOCK))
            t_last = clock.epoch(tok)
            got = entries.get(out_key)
            if got is None:
                entries[out_key] = [n, t_first, t_last]
            else:
                got[0] += n
                got[1] = _min(got[1], t_first)
                got[2] = _max(got[2], t_last)
        out = []
        for (user, source, method, key_type, fingerprint), (n, t_first, t_last) in entries.items():
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


def _count(counter, items):
    """Count ``items`` into ``counter`` (C-level)."""
    _count_elements(counter, items)


def _heap_top(n, attempts, events, exclude):
    """The ``n`` raw addresses not in ``exclude`` with the most attempts (then kind events, then the address: the
    set's order changes with each process's hash seed, the choice must not)."""
    candidates = (addr for addr in events.keys() | attempts.keys() if addr not in exclude)
    return heapq.nlargest(n, candidates, key=lambda addr: (attempts.get(addr, 0), events.get(addr, 0), addr))


def _before(clock, token, other_clock, other):
    """Whether the time token ``token`` (of ``clock``) is earlier than ``other`` (of ``other_clock``); an unknown
    time is never earlier. Tokens of one clock compare as they are when they can: journal times, and traditional
    timestamps of one month (a clock's file spans less than a year; the day is space-padded)."""
    if clock is other_clock:
        if token.__class__ is float and other.__class__ is float:
            return token < other
        if token.__class__ is bytes and len(token) == 15 == len(other) and token[:3] == other[:3]:
            return token < other
    return _earlier(clock.epoch(token), other_clock.epoch(other))


def _earlier(a, b):
    return a is not None and (b is None or a < b)


def _min(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _max(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)
