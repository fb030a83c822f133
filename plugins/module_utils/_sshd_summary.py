# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What one block of sshd log rows says: :class:`Summary` (private to the collection; target side, Python 3.8+).

Rows (``_sshd_parse``: one per log line of interest, laid out as ``BLOCK_RE``'s groups) are summarised per block,
the per-line work done with C-level ``zip``/``Counter``/``set`` operations. A summary settles what its block alone
settles (:meth:`Summary.close`); what depends on the lines of the same connection in neighbouring blocks stays
pending until the aggregator (``_sshd_aggregate``) hands it those neighbours (:meth:`Summary.settle`).

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

from collections import Counter

try:
    from collections import _count_elements
except ImportError:  # pragma: no cover - other Pythons

    def _count_elements(counter, items):
        for item in items:
            counter[item] = counter.get(item, 0) + 1


from itertools import compress, filterfalse, repeat
from operator import itemgetter

from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_parse import (
    ACCEPTED,
    CLOSED,
    CLOSED_FIELDS_RE,
    FAILED,
    INVALID,
    NEGOTIATION_METHODS,
    NOT_ALLOWED,
    PAM,
    REPEATED,
    ROOT_REFUSED,
    ROW_SIZE,
    TOO_MANY,
    failed_key,
    invalid_key,
    key_fields,
    parse_message,
)

MAX_SAMPLES = 10  # unparsed lines kept as samples

# Key tags: a key is (tag, method, addr, user, invalid) with bytes items; tag F (a Failed line, method set),
# I invalid user, N not allowed, R root refused, T too many failures, P PAM failure, C closed during authentication.
_OTHER_TAGS = {NOT_ALLOWED: b"N", ROOT_REFUSED: b"R", TOO_MANY: b"T"}
_PAM_UNKNOWN = b"unknown"
_get = itemgetter


def count_into(counter, items):
    """Count ``items`` into ``counter`` (C-level)."""
    _count_elements(counter, items)


class Summary(object):
    """What one block of rows says, before correlation with the neighbouring blocks.

    Definite counts, as lists in log order (tallied with C-level operations): ``keys``/``tokens`` a detail key and
    the time token of each kind event; ``attempt_addrs``/``event_addrs`` the source of each attempt and kind event;
    ``weighted`` the kind events of single records (repeated lines, the less common forms), ``(key, addr, token, n,
    attempt)``, whose times are compared when tallied; ``kinds`` counts per (tag, method).
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
        count_into(self.methods, compress(methcol, methcol))
        if any(invcol):
            self.kinds[(b"I", b"")] += len(invcol) - invcol.count(None) - invcol.count(b"")
            self.nofail.update(zip(compress(pidcol, invcol), zip(compress(addrcol, invcol), compress(tscol, invcol))))
        return found

    # -- one record at a time: the less common forms, the journal's odd lines, repeats ----------------------

    def _event(self, key, addr, token, n, attempt, kind=None):
        """A definite kind event (and attempt) from a single record; ``kind``: its (tag, method) when known. Single
        records are handled after the common rows of their slice, so they go with the weighted events, whose times
        are compared when tallied (``keys`` stays in log order)."""
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

    def settle(self, others):
        """Count the pending items now that the summaries near this one (``others``: within HORIZON, in log order)
        are known; returns ``(keys, tokens, key_addrs, attempt_addrs, weighted, kinds)`` for the aggregator to tally
        and leaves nothing pending."""
        keys, tokens, key_addrs, attempt_addrs = [], [], [], []
        weighted = []
        kinds = Counter()
        if self.nofail or self.pam:  # counted when the pid has no Failed line nearby
            fail = _union(others, "fail")
            nofail = _without(self.nofail, fail)
            if nofail:
                attempt_addrs.extend(map(_get(0), nofail.values()))
            for rhost, user, invalid, n, tok_first, tok_last in _without(self.pam, fail).values():
                key = (b"P", user, invalid, rhost)
                weighted.append((key, rhost, tok_first, 1, True))
                if n > 1:
                    weighted.append((key, rhost, tok_last, n - 1, True))
                kinds[(b"P", b"")] += n
        if self.noevidence:  # counted when the pid logged no failure at all nearby
            noevidence = _without(self.noevidence, _union(others, "evidence"))
            if noevidence:
                items = list(noevidence.values())
                fields = _closed_fields(list(map(_get(0), items)))
                keys = [(b"C", user, state, addr) for _verb, state, user, addr, _port in fields]
                tokens = list(map(_get(1), items))
                key_addrs = list(map(_get(3), keys))
                attempt_addrs.extend(key_addrs)
                kinds[(b"C", b"")] += len(items)
        if self.noaccept:  # negotiation: counted when the pid does not log in nearby
            accepted = _union(others, "accepted_pids")
            for pid, addr, key, n, token in self.noaccept:
                if pid not in accepted:
                    weighted.append((key, addr, token, n, True))
                    kinds[key_fields(key)[:2]] += n
        self.nofail = self.noevidence = self.pam = {}
        self.noaccept = []
        return keys, tokens, key_addrs, attempt_addrs, weighted, kinds

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


def _union(summaries, name):
    """The union of the pid sets ``name`` (``fail``, ``evidence``, ``accepted_pids``) of ``summaries``."""
    return set().union(*(getattr(summary, name) for summary in summaries)) if summaries else set()


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
