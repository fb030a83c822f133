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

import calendar
import time
from collections import Counter, deque
from itertools import compress, filterfalse, repeat
from operator import itemgetter

from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_parse import (
    ACCEPTED,
    C_ADDR,
    C_STATE,
    C_USER,
    C_VERB,
    CLOSED_PREAUTH,
    F_ADDR,
    F_INVALID,
    F_METHOD,
    F_USER,
    FAILED_OTHER,
    I_ADDR,
    I_USER,
    INVALID_USER,
    KNOWN_METHODS,
    NEGOTIATION_METHODS,
    NOT_ALLOWED,
    P_MARK,
    P_RHOST,
    P_USER,
    PAM_FAILURE,
    R_REST,
    REPEATED,
    ROOT_REFUSED,
    ROW_PID,
    ROW_TIME,
    TOO_MANY,
    AddressBook,
    parse_message,
    user_text,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._timestamps import (
    iso_utc,
    parse_rfc3339,
    parse_traditional,
    traditional_seconds,
)

HORIZON = 600  # seconds: lines of one pid further apart than this are not taken as one connection
TOLERANCE = 2 * 86400  # a traditional line up to this much after the file's last line is still in the last's year
MAX_DETAIL = 50000  # (source, user, kind) entries kept while reading; beyond, low-ranked external ones are dropped
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
            _end, year, month, day, hour, minute, second, micro, offset = got
            if offset is not None:
                return calendar.timegm((year, month, day, hour, minute, second)) - offset + micro / 1e6
            try:
                return float(self.zone.local_to_utc(year, month, day, hour, minute, second)) + micro / 1e6
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
            if self.last_seconds is not None:
                if traditional_seconds(month, day, hour, minute, 0) > self.last_seconds + TOLERANCE:
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

    ``counts``/``first``/``last``: definite kind counts per key with the time tokens of their first and last line;
    ``attempts``/``events``: definite attempts and kind events per source (raw address); ``kinds``: definite counts
    per kind; ``fail``/``evidence``/``accepted_pids``: the pids with a Failed line, with any failure, that logged in;
    ``nofail``/``noevidence``: connection attempts counted only if the pid has no Failed line / no failure at all
    near it (pid -> (addr, key or None, n, token)); ``pam``: PAM failures per pid; ``noaccept``: negotiation
    failures, dropped if the pid logs in.
    """

    def __init__(self, clock):
        self.clock = clock
        self.counts = Counter()
        self.first = {}
        self.last = {}
        self.attempts = Counter()
        self.events = Counter()
        self.kinds = Counter()
        self.fail = set()
        self.evidence = set()
        self.accepted_pids = set()
        self.nofail = {}
        self.noevidence = {}
        self.pam_n = Counter()  # pid -> PAM failures
        self.pam_info = {}  # pid -> (rhost, user, illegal flag) of its last PAM line
        self.pam_first = {}  # pid -> token of its first PAM line
        self.pam_last = {}
        self.pam = {}  # after close(): pid -> (rhost, user, invalid, n, first token, last token) still pending
        self.too_many_pids = set()
        self.addrless = []  # (form, pid, user, invalid, token, n) of lines without a source address
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
        """Add rows (tuples laid out as BLOCK_RE's groups) in log order."""
        if not rows:
            return
        self.rows += len(rows)
        if self.t_first is None:
            self.t_first = rows[0][ROW_TIME]
        self.t_last = rows[-1][ROW_TIME]
        failed = list(compress(rows, map(_get(F_METHOD), rows)))
        invalid = list(compress(rows, map(_get(I_ADDR), rows)))
        pam = list(compress(rows, map(_get(P_MARK), rows)))
        closed = list(compress(rows, map(_get(C_VERB), rows)))
        rest = list(compress(rows, map(_get(R_REST), rows)))
        if failed:
            self._bulk_failed(failed)
        if invalid:
            self._bulk_invalid(invalid)
        if pam:
            self._bulk_pam(pam)
        if closed:
            self._bulk_closed(closed)
        for row in rest:
            self.add_message(row[ROW_TIME], row[ROW_PID], row[R_REST])

    def _touch_bulk(self, keys, tokens):
        self.counts.update(keys)
        last = dict(zip(keys, tokens))
        first = dict(zip(reversed(keys), reversed(tokens)))
        new = first.keys() - self.first.keys()
        if len(new) == len(first):
            self.first.update(first)
        elif new:
            self.first.update(zip(new, map(first.__getitem__, new)))
        self.last.update(last)

    def _bulk_failed(self, rows):
        cols = list(zip(*rows))
        methods, pids, addrs = cols[F_METHOD], cols[ROW_PID], cols[F_ADDR]
        self.fail.update(pids)
        self.pid_cols.append((pids, addrs))
        negotiation = list(map(NEGOTIATION_METHODS.__contains__, methods))
        if any(negotiation):
            for row in compress(rows, negotiation):
                key = (b"F", row[F_METHOD], row[F_ADDR], row[F_USER], row[F_INVALID])
                self.noaccept.append((row[ROW_PID], row[F_ADDR], key, 1, row[ROW_TIME]))
            keep = [not flag for flag in negotiation]
            rows = list(compress(rows, keep))
            if not rows:
                return
            cols = list(zip(*rows))
            methods, addrs = cols[F_METHOD], cols[F_ADDR]
        keys = list(zip(repeat(b"F"), methods, addrs, cols[F_USER], cols[F_INVALID]))
        self._touch_bulk(keys, cols[ROW_TIME])
        self.attempts.update(addrs)
        self.events.update(addrs)
        self.kinds.update(zip(repeat(b"F"), methods))

    def _bulk_invalid(self, rows):
        cols = list(zip(*rows))
        addrs = cols[I_ADDR]
        self.pid_cols.append((cols[ROW_PID], addrs))
        keys = list(zip(repeat(b"I"), repeat(b""), addrs, cols[I_USER], repeat(_INVALID)))
        self._touch_bulk(keys, cols[ROW_TIME])
        self.events.update(addrs)
        self.kinds[(b"I", b"")] += len(rows)
        self.nofail.update(zip(cols[ROW_PID], zip(addrs, repeat(None), repeat(1), cols[ROW_TIME])))

    def _bulk_pam(self, rows):
        cols = list(zip(*rows))
        pids = cols[ROW_PID]
        self.pam_n.update(pids)
        self.pam_info.update(zip(pids, zip(cols[P_RHOST], cols[P_USER], repeat(b""))))
        self.pam_last.update(zip(pids, cols[ROW_TIME]))
        new = dict(zip(reversed(pids), reversed(cols[ROW_TIME])))
        if self.pam_first:
            new = {pid: token for pid, token in new.items() if pid not in self.pam_first}
        self.pam_first.update(new)

    def _pam_one(self, pid, rhost, user, illegal, n, token):
        self.pam_n[pid] += n
        if user or pid not in self.pam_info:
            self.pam_info[pid] = (rhost, user, illegal)
        self.pam_first.setdefault(pid, token)
        self.pam_last[pid] = token

    def _bulk_closed(self, rows):
        cols = list(zip(*rows))
        verbs = cols[C_VERB]
        self.pid_cols.append((cols[ROW_PID], cols[C_ADDR]))
        too_many = list(map(b"Disconnecting".__eq__, verbs))
        for row in compress(rows, too_many):
            self._too_many(row[ROW_PID], row[C_USER], row[C_STATE], row[C_ADDR], row[ROW_TIME])
        if any(too_many):
            rows = list(compress(rows, [not flag for flag in too_many]))
            if not rows:
                return
            cols = list(zip(*rows))
        keys = zip(repeat(b"C"), repeat(b""), cols[C_ADDR], cols[C_USER], cols[C_STATE])
        self.noevidence.update(zip(cols[ROW_PID], zip(cols[C_ADDR], keys, repeat(1), cols[ROW_TIME])))

    # -- one record at a time: the less common forms, the journal's odd lines, repeats ----------------------

    def _touch(self, key, token, n):
        self.counts[key] += n
        if key not in self.first:
            self.first[key] = token
        elif token is not None and self._before(token, self.first[key]):
            self.first[key] = token
        last = self.last.get(key)
        if last is None or not self._before(token, last):
            self.last[key] = token

    def _before(self, token_a, token_b):
        a = self.clock.epoch(token_a)
        b = self.clock.epoch(token_b)
        return a is not None and b is not None and a < b

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
        key = (tag, b"", addr, user, invalid)
        self._touch(key, token, n)
        self.events[addr] += n
        self.kinds[(tag, b"")] += n
        self.evidence.add(pid)
        self.nofail[pid] = (addr, None, 1, token)

    def add_message(self, token, pid, message, n=1):
        """One message that is not a common row (or a repeated one, ``n`` times)."""
        if self.t_first is None:
            self.t_first = token
        self.t_last = token
        parsed = parse_message(message)
        if parsed is None:
            self.unparsed += 1
            if len(self.samples) < MAX_SAMPLES:
                self.samples.append(message[:300])
            return
        form, fields = parsed
        if form == REPEATED:
            count, inner = fields
            self._add_parsed(token, pid, inner, n * count)
        else:
            self._add_parsed(token, pid, parsed, n)

    def _add_parsed(self, token, pid, parsed, n):
        form, fields = parsed
        if form == "row":
            row = (token, pid, *fields[2:])
            if n == 1:
                self.add_rows([row])
                self.rows -= 1
            else:
                self._row_weighted(row, n)
        elif form == "failed":
            method, invalid, user, addr, _port, _ktype, _fp = fields
            self._failed_one(token, pid, method, invalid, user, addr, n)
        elif form == ACCEPTED:
            method, user, addr, _port, key_type, fingerprint = fields
            key = (user, addr, method, key_type or b"", fingerprint or b"")
            self.accepted[key] += n
            self.acc_first.setdefault(key, token)
            self.acc_last[key] = token
            self.accepted_pids.add(pid)
        elif form == PAM_FAILURE:
            user, invalid, addr, _port, count = fields
            self._pam_one(pid, addr, user, invalid, count * n, token)
        elif form == TOO_MANY:
            user, invalid, addr, _port, _extra = fields
            self._too_many(pid, user, invalid, addr, token)
        else:
            user, invalid, addr, _port, _extra = fields
            self._other(_OTHER_TAGS[form], pid, user, invalid, addr, token, n)

    def _failed_one(self, token, pid, method, invalid, user, addr, n):
        key = (b"F", method, addr, user, invalid)
        self.fail.add(pid)
        if method in NEGOTIATION_METHODS:
            self.noaccept.append((pid, addr, key, n, token))
            return
        self._touch(key, token, n)
        self.attempts[addr] += n
        self.events[addr] += n
        self.kinds[(b"F", method)] += n

    def _row_weighted(self, row, n):
        token, pid = row[ROW_TIME], row[ROW_PID]
        if row[F_METHOD]:
            self._failed_one(token, pid, row[F_METHOD], row[F_INVALID], row[F_USER], row[F_ADDR], n)
        elif row[I_ADDR]:
            key = (b"I", b"", row[I_ADDR], row[I_USER], _INVALID)
            self._touch(key, token, n)
            self.events[row[I_ADDR]] += n
            self.kinds[(b"I", b"")] += n
            self.nofail[pid] = (row[I_ADDR], None, 1, token)
        elif row[P_MARK]:
            self._pam_one(pid, row[P_RHOST], row[P_USER], b"", n, token)
        elif row[C_VERB] == b"Disconnecting":
            self._too_many(pid, row[C_USER], row[C_STATE], row[C_ADDR], token)
        elif row[C_VERB]:
            key = (b"C", b"", row[C_ADDR], row[C_USER], row[C_STATE])
            self.noevidence[pid] = (row[C_ADDR], key, 1, token)

    # -- end of block -------------------------------------------------------------------------------------

    def close(self):
        """Settle what this block alone settles (C-level set operations); the rest stays pending."""
        if self.addrless:
            self._place_addrless()
        evidence = self.evidence
        evidence |= self.fail
        evidence.update(self.nofail)
        evidence.update(self.pam_n)
        evidence |= self.too_many_pids
        if self.nofail:
            self.nofail = _without(self.nofail, self.fail)
        if self.pam_n:
            pending = list(filterfalse(self.fail.__contains__, self.pam_first))
            self.pam = {
                pid: (*_pam_source(self.pam_info[pid]), self.pam_n[pid], self.pam_first[pid], self.pam_last[pid])
                for pid in pending
            }
            self.pam_n = self.pam_info = self.pam_first = self.pam_last = None
        if self.noevidence:
            self.noevidence = _without(self.noevidence, evidence)
        if self.noaccept and self.accepted_pids:
            self.noaccept = [item for item in self.noaccept if item[0] not in self.accepted_pids]
        self.pid_cols = None
        return self

    def _place_addrless(self):
        """Give lines logged without an address (old ``Disconnecting: Too many authentication failures for X``,
        ``User X not allowed because account is locked``) the address of their connection's other lines."""
        pid_addr = {}
        for pids, addrs in self.pid_cols:
            pid_addr.update(zip(pids, addrs))
        pam_addr = {pid: info[0] for pid, info in (self.pam_info or {}).items()}
        records, self.addrless = self.addrless, []
        for tag, pid, user, invalid, token, n in records:
            addr = pid_addr.get(pid) or pam_addr.get(pid) or b""
            if not addr:
                addr = b"unknown"
            self._other(tag, pid, user, invalid, addr, token, n)


def _pam_source(info):
    """(rhost, user, invalid flag) of a PAM failure: a failure without ``user=`` is for a user PAM does not know."""
    rhost, user, illegal = info
    return rhost, user, illegal or (b"" if user else _PAM_UNKNOWN)


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
    """

    def __init__(self, book, top_external=200, max_user_length=100, max_detail=MAX_DETAIL):
        self.book = book
        self.top_external = top_external
        self.max_user_length = max_user_length
        self.max_detail = max(int(max_detail), 1000)
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
        self.dropped = set()
        self.dropped_events = Counter()
        self.window = deque()  # recent summaries: (t0, t1, summary)
        self.pending = deque()  # summaries whose pending items are not settled yet
        self.rows = 0
        self.unparsed = 0
        self.samples = []
        self.accepted_folded = 0

    # -- folding ------------------------------------------------------------------------------------------

    def add(self, summary):
        """Fold a closed summary (its definite counts now, its pending items once HORIZON has passed)."""
        clock = summary.clock
        t0 = clock.epoch(summary.t_first)
        t1 = clock.epoch(summary.t_last)
        if t0 is None:
            t0 = t1
        if t1 is None:
            t1 = t0
        self.rows += summary.rows
        self.unparsed += summary.unparsed
        for sample in summary.samples:
            if len(self.samples) < MAX_SAMPLES:
                self.samples.append(sample)
        self._fold_counts(summary.counts, summary.first, summary.last, clock)
        self.attempts.update(summary.attempts)
        self.events.update(summary.events)
        self.kinds.update(summary.kinds)
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
        if summary.nofail or summary.noevidence or summary.pam or summary.noaccept:
            self.pending.append(entry)
        if t1 is not None:
            self._settle(t1)

    def _fold_counts(self, counts, first, last, clock):
        if not counts:
            return
        if self.dropped:
            kept = {key: n for key, n in counts.items() if key[2] not in self.dropped}
            for key, n in counts.items():
                if key[2] in self.dropped:
                    self.dropped_events[key[2]] += n
            counts = kept
        self.counts.update(counts)
        new = first.keys() - self.first_tok.keys()
        if new:
            new = [key for key in new if key in counts]
            self.first_tok.update(zip(new, map(first.__getitem__, new)))
            self.first_clock.update(dict.fromkeys(new, clock))
        if len(counts) == len(last):
            self.last_tok.update(last)
            self.last_clock.update(dict.fromkeys(last, clock))
        else:
            self.last_tok.update((key, last[key]) for key in counts)
            self.last_clock.update(dict.fromkeys(counts, clock))
        if len(self.counts) > self.max_detail:
            self._prune()

    def _prune(self):
        """Drop the (source, user, kind) detail of the lowest-ranked external sources (their totals stay exact)."""
        keep_external = max(4 * self.top_external, 1000)
        external = [addr for addr in self.attempts.keys() | self.events.keys() if not self._internal(addr)]
        if len(external) <= keep_external:
            return
        external.sort(key=lambda addr: (-self.attempts[addr], -self.events[addr]))
        dropped = set(external[keep_external:])
        self.dropped |= dropped
        for key in [key for key in self.counts if key[2] in dropped]:
            self.dropped_events[key[2]] += self.counts.pop(key)
            for store in (self.first_tok, self.first_clock, self.last_tok, self.last_clock):
                store.pop(key, None)

    def _prune_accepted(self):
        ranked = sorted(self.accepted.items(), key=lambda item: -item[1])
        for key, n in ranked[MAX_ACCEPTED // 2 :]:
            if self._internal(key[1]):
                continue
            self.accepted_folded += n
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
            return [summary]
        return [
            other
            for o0, o1, other in self.window
            if other is summary or (o0 is not None and o1 is not None and o0 - HORIZON <= t1 and o1 + HORIZON >= t0)
        ]

    def _settle_one(self, entry):
        summary = entry[2]
        near = self._near(entry)
        others = [other for other in near if other is not summary]
        resolved = Counter()
        first, last = {}, {}
        attempts = Counter()
        events = Counter()
        kinds = Counter()
        if summary.nofail or summary.pam:
            fail = set().union(*(other.fail for other in others)) if others else set()
            nofail = _without(summary.nofail, fail)
            if nofail:
                items = list(nofail.values())
                attempts.update(map(_get(0), items))
            pam = _without(summary.pam, fail)
            epoch = summary.clock.epoch
            for rhost, user, invalid, n, tok_first, tok_last in pam.values():
                key = (b"P", b"", rhost, user, invalid)
                resolved[key] += n
                if key not in first or _earlier(epoch(tok_first), epoch(first[key])):
                    first[key] = tok_first
                if key not in last or _earlier(epoch(last[key]), epoch(tok_last)):
                    last[key] = tok_last
                attempts[rhost] += n
                events[rhost] += n
                kinds[(b"P", b"")] += n
        if summary.noevidence:
            evidence = set().union(*(other.evidence for other in others)) if others else set()
            noevidence = _without(summary.noevidence, evidence)
            if noevidence:
                items = list(noevidence.values())
                keys = list(map(_get(1), items))
                tokens = list(map(_get(3), items))
                resolved.update(keys)
                addrs = list(map(_get(0), items))
                attempts.update(addrs)
                events.update(addrs)
                kinds[(b"C", b"")] += len(items)
                last.update(zip(keys, tokens))
                for key, token in zip(keys, tokens):
                    first.setdefault(key, token)
        if summary.noaccept:
            accepted = set().union(*(other.accepted_pids for other in others)) if others else set()
            for pid, addr, key, n, token in summary.noaccept:
                if pid in accepted:
                    continue
                resolved[key] += n
                first.setdefault(key, token)
                last[key] = token
                attempts[addr] += n
                events[addr] += n
                kinds[(b"F", key[1])] += n
        summary.nofail = summary.noevidence = summary.pam = {}
        summary.noaccept = []
        self._fold_counts(resolved, first, last, summary.clock)
        self.attempts.update(attempts)
        self.events.update(events)
        self.kinds.update(kinds)

    def merge_later(self, other):
        """Fold another finished aggregator whose lines all come after this one's (the journal after the files)."""
        self.rows += other.rows
        self.unparsed += other.unparsed
        self.samples.extend(other.samples[: max(0, MAX_SAMPLES - len(self.samples))])
        self.dropped |= other.dropped
        self.dropped_events.update(other.dropped_events)
        self.counts.update(other.counts)
        new = other.first_tok.keys() - self.first_tok.keys()
        self.first_tok.update((key, other.first_tok[key]) for key in new)
        self.first_clock.update((key, other.first_clock[key]) for key in new)
        self.last_tok.update(other.last_tok)
        self.last_clock.update(other.last_clock)
        self.attempts.update(other.attempts)
        self.events.update(other.events)
        self.kinds.update(other.kinds)
        self.accepted.update(other.accepted)
        self.accepted_folded += other.accepted_folded
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
        entries = {}
        for key, n in self.counts.items():
            tag, method, raw_addr, raw_user, flag = key
            source = book.text(raw_addr)
            if source not in kept:
                continue
            out_key = (source, user_text(raw_user, limit), _is_invalid(tag, flag), kind_name(tag, method), method)
            t_first = self.first_clock[key].epoch(self.first_tok[key]) if key in self.first_tok else None
            t_last = self.last_clock[key].epoch(self.last_tok[key]) if key in self.last_tok else None
            got = entries.get(out_key)
            if got is None:
                entries[out_key] = [n, t_first, t_last]
            else:
                got[0] += n
                got[1] = _min(got[1], t_first)
                got[2] = _max(got[2], t_last)
        failures = []
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
            failures.append(entry)
        dropped_by_source = Counter()
        for raw, n in self.dropped_events.items():
            dropped_by_source[book.text(raw)] += n
        for source, n in dropped_by_source.items():
            if source in kept and n:
                failures.append(
                    {
                        "source": source,
                        "user": None,
                        "invalid_user": None,
                        "kind": "detail_dropped",
                        "count": n,
                        "internal": per_source[source][2],
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
            "detail_dropped_sources": len(dropped_by_source),
            "auth_lines": self.rows,
            "unparsed": self.unparsed,
            "unparsed_samples": [user_text(sample, 300) for sample in self.samples],
            "accepted": sum(self.accepted.values()) + self.accepted_folded,
            "accepted_folded": self.accepted_folded,
            "accepted_users": len({e["user"] for e in accepted}),
        }
        return failures, accepted, totals

    def _accepted_entries(self):
        book = self.book
        entries = {}
        for key, n in self.accepted.items():
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
