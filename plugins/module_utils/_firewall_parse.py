# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Parsing of netfilter log lines (private to the collection; target side, Python 3.8+, pure functions).

The kernel writes one form for iptables ``LOG``, nftables ``log`` and ufw (``nf_log_syslog``): the rule's prefix,
then ``IN=<iface> OUT=<iface>``, maybe ``PHYSIN=``/``PHYSOUT=`` (bridges) and ``MAC=``, then ``SRC=`` and ``DST=``,
the IP header fields (IPv4: ``LEN TOS PREC TTL ID``; IPv6: ``LEN TC HOPLIMIT FLOWLBL``), ``PROTO=`` and the
protocol's fields (``SPT DPT`` and the TCP flags; ``TYPE CODE`` for ICMP and ICMPv6). The forms are written once,
here, and used two ways:

- :func:`block_re` finds them in a whole block of a syslog file at once (``findall``: the per-line work is in C),
  one row per netfilter line; where :func:`candidates` says a block has more, ``block_re(malformed=True)`` also
  gives each line that says ``IN=... OUT=...`` but does not parse, whole, in ``BAD``;
- :func:`parse_message` parses one message (the journal, the ``BAD`` lines, the tests) with the same expression,
  and :func:`parse_fields` reads what it cannot (fields in another order, lines cut short) token by token.

The prefix is the rule's text (an administrator's, up to 127 bytes with nftables) and may hold anything, ``SRC=``
and ``IN=`` included: the expressions take the *last* ``IN=... OUT=...`` of the line that is followed by the
kernel's fields, which a prefix cannot follow.
"""

from __future__ import annotations

import re

from ansible_collections.fleetwatch.audit.plugins.module_utils._pathtext import path_to_text

_NS = rb"[^ \n]"
# Timestamp of a syslog line in three groups: up to the hour, minutes and seconds, offset (traditional or RFC 3339).
_TS = (
    rb"([A-Z][a-z][a-z] [ 0-9]?[0-9] [0-9][0-9]|[0-9]{4}-[0-9][0-9]-[0-9][0-9][T ][0-9][0-9])"
    rb"(:[0-9][0-9]:[0-9][0-9](?:[.,][0-9]+)?)"
    rb"((?:[Zz]|[+-][0-9][0-9]:?[0-9][0-9])?)"
)
_HOST_TAG = rb" " + _NS + rb"+ (?:kernel: )?"
_STAMP = rb"(?:\[ *[0-9]+\.[0-9]+\] ?)?"  # the kernel's uptime stamp, not always there
_FIELDS = (
    rb"([^\n]*)IN=(" + _NS + rb"*) OUT=(" + _NS + rb"*) (?:PHYSIN=" + _NS + rb"* )?(?:PHYSOUT=" + _NS + rb"* )?"
    rb"(?:MAC=" + _NS + rb"* )?SRC=(" + _NS + rb"+) DST=(" + _NS + rb"+) LEN=[^\n]*? PROTO=(" + _NS + rb"+)"
    rb"(?: SPT=[0-9]+ DPT=([0-9]+)(?: SEQ=[0-9]+ ACK=[0-9]+)?"
    rb"(?: WINDOW=[0-9]+ RES=0x[0-9a-fA-F]+ ((?:[A-Z]{3} )*)URGP=)?)?"
    rb"(?: TYPE=([0-9]+))?[^\n]*"
)
# A line that says IN= and OUT= but is not of the form above: counted as malformed (after parse_fields).
_OTHER = rb"|([^\n]*IN=" + _NS + rb"* OUT=[^\n]*)"
MESSAGE_RE = re.compile(_STAMP + rb"(?:" + _FIELDS + rb")")
_BLOCK_CACHE = {}

# Row layout: the groups of block_re (a BAD row has only the timestamp groups and BAD set; a parsed row has BAD
# empty).
HOUR, MINSEC, OFFSET, PREFIX, IN, OUT, SRC, DST, PROTO, DPORT, FLAGS, ICMP_TYPE, BAD = range(13)
ROW_SIZE = 13
UFW_ACTIONS = {b"[UFW BLOCK]": "block", b"[UFW ALLOW]": "allow", b"[UFW AUDIT]": "audit"}


def block_re(malformed=False):
    """The block search: one row per netfilter line of a block whose lines are each preceded by a newline; with
    ``malformed``, also a BAD row per line that says ``IN=... OUT=`` but does not parse (a slower search, for the
    blocks where :func:`candidates` counts more lines than the fast one found)."""
    got = _BLOCK_CACHE.get(malformed)
    if got is None:
        body = _FIELDS + _OTHER if malformed else _FIELDS + rb"()"
        got = _BLOCK_CACHE[malformed] = re.compile(rb"\n" + _TS + _HOST_TAG + _STAMP + rb"(?:" + body + rb")")
    return got


def candidates(buf, start, end):
    """How many lines of ``buf[start:end]`` may be netfilter lines (at least as many as there are; counted in C)."""
    return buf.count(b" OUT=", start, end)


def message_row(message, hour=b"", minsec=b"", offset=b""):
    """The row of one netfilter message (the text after ``kernel:``), a BAD row when it is one but does not parse,
    or None when it is no netfilter message. Tries :data:`MESSAGE_RE`, then :func:`parse_fields`."""
    message = message.rstrip(b"\r\n")
    match = MESSAGE_RE.match(message)
    if match is not None:
        return (hour, minsec, offset, *match.groups(b""), b"")
    fields = parse_fields(message)
    if fields is None:
        return None
    if not (fields.get(b"SRC") and fields.get(b"DST") and fields.get(b"PROTO")):
        return (hour, minsec, offset, *(b"",) * (ROW_SIZE - 4), message or b"?")
    proto = fields[b"PROTO"]
    return (
        hour,
        minsec,
        offset,
        fields[b""],
        fields[b"IN"],
        fields[b"OUT"],
        fields[b"SRC"],
        fields[b"DST"],
        proto,
        fields.get(b"DPT", b"") if fields.get(b"DPT", b"").isdigit() else b"",
        b"".join(flag + b" " for flag in fields[b"flags"]),
        fields.get(b"TYPE", b"") if fields.get(b"TYPE", b"").isdigit() else b"",
        b"",
    )


_IN_OUT_RE = re.compile(rb"IN=(" + _NS + rb"*) OUT=(" + _NS + rb"*)(?: |\Z)")


def parse_fields(message):
    """Token by token: ``{name: value}`` of the ``NAME=value`` fields after the last ``IN=... OUT=...`` of
    ``message``, the prefix under ``b""`` and the bare upper-case words (TCP flags) under ``b"flags"``; None when
    the message has no ``IN=... OUT=...``. Only the fields before ``PROTO``'s own are taken for the IP header, so a
    truncated line gives what it has."""
    found = list(_IN_OUT_RE.finditer(message))
    if not found:
        return None
    last = found[-1]
    fields = {b"": message[: last.start()], b"IN": last.group(1), b"OUT": last.group(2), b"flags": []}
    for token in message[last.end() :].split(b" "):
        name, sep, value = token.partition(b"=")
        if sep and name not in fields:
            fields[name] = value
        elif not sep and token.isalpha() and token.isupper() and len(token) == 3:
            fields[b"flags"].append(token)
        if token.startswith(b"["):  # an ICMP error quotes the packet it answers: its fields are not this one's
            break
    return fields


def is_syn(flags):
    """Whether the TCP flags of a row (``b"SYN "``, ``b"ACK SYN "``...) are a connection attempt."""
    return b"SYN" in flags and b"ACK" not in flags


def direction(in_iface, out_iface):
    """``in`` (IN set, OUT empty), ``out``, ``forward`` (both) or ``local`` (neither)."""
    if in_iface:
        return "forward" if out_iface else "in"
    return "out" if out_iface else "local"


def proto_text(raw):
    """The upper-case protocol name (``TCP``, ``ICMPV6``) or the number as text."""
    return path_to_text(raw).upper()


def prefix_text(raw):
    """The log prefix as logged, in the escaped text form (a prefix may hold NULs or escape sequences)."""
    return path_to_text(raw)


def ufw_action(raw_prefix):
    """``block``/``allow``/``audit`` of a ufw prefix, else None."""
    return UFW_ACTIONS.get(raw_prefix.strip())


def sample_text(line, limit=300):
    """A malformed line as a sample: cut at ``limit`` bytes, escaped."""
    return path_to_text(line[:limit])
