# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Parsing of sshd authentication log lines (private to the collection; target side, Python 3.8+, pure functions).

Every message form understood is listed in ``docs/modules/sshd_auth_info.md``. The forms are written once, here, as
regular expressions over bytes, and used two ways:

- :data:`BLOCK_RE` finds the common forms in a whole block of a syslog file at once (``findall``: the per-line work
  happens in C), together with each line's timestamp and process id;
- :func:`parse_message` parses one message (the text after ``sshd[PID]: ``), for the journal, for the less common
  forms that :data:`BLOCK_RE` hands over whole (its *rest* group), and in the tests.

Both give a *row*: a tuple laid out as :data:`BLOCK_RE`'s groups (see ``ROW_*``), so that one function summarises
rows whatever their origin (``_sshd_aggregate``).

User names are chosen by whoever connects: they may hold spaces, quotes, ``<script>``, escape sequences, invalid
UTF-8 or " from 10.0.0.1 port 22" meant to frame another address. Every pattern anchors the address and port to the
end of the line (sshd prints the user first and the address last), so a user name never moves the source.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import sys

from ansible_collections.fleetwatch.audit.plugins.module_utils._pathtext import path_to_text

# Possessive quantifiers (Python 3.11+) only skip backtracking that cannot succeed: each is followed by a character
# its class excludes. Older Pythons get the same patterns without them, with the same matches.
_P = "+" if sys.version_info >= (3, 11) else ""

# Internal networks unless told otherwise (sshd_auth_info's default; the sshd_auth check's too): private, shared
# address space, loopback, unique and link local.
DEFAULT_INTERNAL_NETWORKS = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
)

# Timestamps at the start of a syslog line: traditional (``Oct  1 00:00:01``) and RFC 3339 (``2025-10-01T00:00:01.5Z``).
TS_TRADITIONAL = rb"[A-Z][a-z][a-z] [ 0-9]?[0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]"
TS_RFC3339 = (
    rb"[0-9]{4}-[0-9][0-9]-[0-9][0-9][T ][0-9][0-9]:[0-9][0-9]:[0-9][0-9](?:[.,][0-9]+)?"
    rb"(?:[Zz]|[+-][0-9][0-9]:?[0-9][0-9])?"
)
# The sshd programs: sshd, sshd-session (OpenSSH 9.8+), sshd-auth (10.0+), and sshd(pam_unix) of old PAM syslog.
PROGRAMS = (b"sshd", b"sshd-session", b"sshd-auth", b"sshd(pam_unix)")
_PROGRAM_RE = rb"sshd(?:\[|-session\[|-auth\[|\(pam_unix\)\[)"

# The longest user name the block pattern takes (sshd itself truncates most at 100); longer ones go to the rest group.
BLOCK_USER_MAX = 256
_NS = rb"[^ \r\n]"  # a character of a field without spaces
_USER = (rb"(" + _NS + rb"{0,%d}" % BLOCK_USER_MAX + rb")").replace(b"}", b"}" + _P.encode())
_FIELD = rb"(" + _NS + rb"+" + _P.encode() + rb")"
_PORT = rb"([0-9]+" + _P.encode() + rb")"
_END = rb"\r?(?=\n)"  # a line may end with CR LF

# The two forms that make most of the noise, Failed and Invalid user, share their groups: ``key`` is the message up
# to the address (``Failed password for invalid user admin from 192.0.2.7``, ``Invalid user admin from 192.0.2.7``):
# one bytes object says the kind, the user and the source, and is counted as it is.
_KEY_FORM = (
    rb"(?P<key>(?:Failed (?P<method>" + _NS + rb"+" + _P.encode() + rb") for (?:invalid user |illegal user )?"
    rb"|(?P<invalid>I)(?:nvalid|llegal) user )"
    + _USER[1:-1]
    + rb" from (?P<addr>"
    + _NS
    + rb"+"
    + _P.encode()
    + rb"))(?(invalid)(?: port "
    + _PORT[1:-1]
    + rb")?| port "
    + _PORT[1:-1]
    + rb" ssh2(?: \[preauth\])?)"
    + _END
)
# PAM failures and connections closed during authentication only matter for connections that logged nothing
# else: their message is kept whole and parsed (parse_message) when that turns out to be the case.
_PAM = rb"(?P<pam>(?:pam_unix\(sshd:auth\): )?authentication failure; [^\r\n]*)"
_CLOSED = (
    rb"(?P<closed>(?:Connection closed by|Disconnected from|Connection reset by|Disconnecting)"
    rb" (?:invalid|authenticating) user [^\r\n]*)"
)
# Lines that start like another authentication message, or like a common form that did not match (a user name with
# spaces or longer than BLOCK_USER_MAX): handed over whole to parse_message.
_REPEATABLE = (
    rb"Accepted [^ \r\n]+ for |Failed |Invalid user |Illegal user |User |ROOT LOGIN REFUSED|error: maximum auth"
    rb"|error: PAM: |Disconnecting|Connection closed by (?:invalid|authenticating)|Disconnected from (?:invalid"
    rb"|authenticating)|Connection reset by (?:invalid|authenticating)|(?:pam_unix\(sshd:auth\): )?authentication"
    rb" failure|(?:pam_unix\(sshd:auth\): )?PAM [0-9]+ more"
)
_REST = (
    rb"(?P<rest>(?:Accepted [^ \r\n]+ for |Failed [^ \r\n]+ for |Invalid user |Illegal user "
    rb"|User [^\r\n]* not allowed because |ROOT LOGIN REFUSED|error: maximum authentication attempts exceeded"
    rb"|error: PAM: [^\r\n]* for |Disconnecting: Too many authentication failures"
    rb"|(?:pam_unix\(sshd:auth\): )?PAM [0-9]+ more authentication failure"
    rb"|message repeated [0-9]+ times: \[ ?(?:" + _REPEATABLE + rb"))[^\r\n]*)"
)
# rsyslog's repeat reduction of a Failed line (root brute force makes many): its key and how many times.
_REPEATED_FAILED = (
    rb"message repeated (?P<times>[0-9]{1,6}) times: \[ (?P<rkey>Failed (?P<rmethod>"
    + _NS
    + rb"+"
    + _P.encode()
    + rb") for (?:invalid user |illegal user )?"
    + _USER[1:-1]
    + rb" from (?P<raddr>"
    + _NS
    + rb"+"
    + _P.encode()
    + rb")) port "
    + _PORT[1:-1]
    + rb" ssh2(?: \[preauth\])?\]"
    + _END
)
MESSAGE_PATTERN = rb"(?:" + rb"|".join((_KEY_FORM, _PAM, _CLOSED, _REPEATED_FAILED, _REST)) + rb")"

# The fields of closed-connection messages, found in many at once (joined by newlines, one before the first).
CLOSED_FIELDS_RE = re.compile(
    rb"\n(Connection closed by|Disconnected from|Connection reset by|Disconnecting) (invalid|authenticating) user "
    + _USER
    + rb" "
    + _FIELD
    + rb" port "
    + _PORT
    + rb"(?:: Too many authentication failures)?(?: \[preauth\])?"
    + _END
)

# Timestamp patterns of the block search per timestamp format of a file: a traditional timestamp is taken as its
# 15 bytes (checked when it is read), which makes the search much cheaper than checking every character.
_BLOCK_TS = {
    "traditional": rb"([A-Z][^\n]{14})",
    "rfc3339": rb"([0-9]{4}-[^ \r\n]+)",
    "any": rb"(" + TS_TRADITIONAL + rb"|" + TS_RFC3339 + rb")",
}
_BLOCK_CACHE = {}


def block_re(kind="any"):
    """The block search for a file whose timestamps are all of ``kind`` (``traditional``, ``rfc3339`` or ``any``):
    one match per sshd line of interest, in a block whose lines are each preceded by a newline."""
    got = _BLOCK_CACHE.get(kind)
    if got is None:
        got = _BLOCK_CACHE[kind] = re.compile(
            rb"\n" + _BLOCK_TS[kind] + rb" " + _FIELD[1:-1] + rb" " + _PROGRAM_RE + rb"([0-9]+)\]: " + MESSAGE_PATTERN
        )
    return got


BLOCK_RE = block_re("any")
# The same message forms for one message (a newline appended to it).
MESSAGE_RE = re.compile(MESSAGE_PATTERN)

# Row layout: (time, pid, <the groups of MESSAGE_PATTERN>). A row's form is told by which group is not empty: ``KEY``
# (a Failed line when ``METHOD`` is set, else an Invalid user line), ``PAM``, ``CLOSED`` or ``REST``.
ROW_TIME, ROW_PID, KEY, METHOD, INVALID_MARK, ADDR, PAM_MESSAGE, CLOSED_MESSAGE = range(8)
TIMES, REPEATED_KEY, REPEATED_METHOD, REPEATED_ADDR, REST = range(8, 13)
ROW_SIZE = 13
EMPTY_ROW = (b"",) * ROW_SIZE
# A key of the other kinds (from parse_message) is a tuple (tag, user, invalid flag, addr); a key of a Failed or
# Invalid user line is its bytes (see KEY_RE).
KEY_RE = re.compile(
    rb"(?:Failed ([^ \r\n]+) for (invalid user |illegal user )?|(?:Invalid|Illegal) user )(.*) from ([^ \r\n]+)\Z", re.S
)


def failed_key(method, invalid, user, addr):
    """The key of a Failed line (as the block search captures it)."""
    return b"Failed " + method + b" for " + (invalid or b"") + user + b" from " + addr


def invalid_key(user, addr):
    """The key of an Invalid user line."""
    return b"Invalid user " + user + b" from " + addr


def key_addr(key):
    """The raw source address of a key (cheap: no regular expression)."""
    if isinstance(key, tuple):
        return key[3]
    return key.rpartition(b" from ")[2]


def key_fields(key):
    """``(tag, method, user, invalid flag, addr)`` of a key (bytes or tuple); tag ``F``, ``I`` or the tuple's."""
    if isinstance(key, tuple):
        tag, user, invalid, addr = key
        return tag, b"", user, invalid, addr
    match = KEY_RE.match(key)
    if match is None:
        return b"F", b"", key, b"", b"unknown"
    method, invalid, user, addr = match.groups()
    if method is None:
        return b"I", b"", user, b"invalid", addr
    return b"F", method, user, invalid or b"", addr


# Kinds of failures (see docs/modules/sshd_auth_info.md for what each counts).
INVALID_USER = "invalid_user"
NOT_ALLOWED = "not_allowed"
ROOT_REFUSED = "root_refused"
TOO_MANY = "too_many_failures"
PAM_FAILURE = "pam_failure"
CLOSED_PREAUTH = "closed_preauth"
FAILED_OTHER = "failed_other"
KNOWN_METHODS = {
    b"password": "failed_password",
    b"publickey": "failed_publickey",
    b"keyboard-interactive": "failed_keyboard_interactive",
    b"keyboard-interactive/pam": "failed_keyboard_interactive",
    b"hostbased": "failed_hostbased",
    b"none": "failed_none",
    b"gssapi-with-mic": "failed_gssapi",
    b"gssapi-keyex": "failed_gssapi",
    b"challenge-response": "failed_keyboard_interactive",
    b"rsa": "failed_publickey",
}
# Failures that are part of negotiating a login: dropped when the same connection then logs in.
NEGOTIATION_METHODS = frozenset((b"publickey", b"none", b"hostbased"))

# Forms parse_message returns besides the kinds.
FAILED = "failed"
INVALID = "invalid"
PAM = "pam"
CLOSED = "closed"
ACCEPTED = "accepted"
REPEATED = "repeated"

_KEY_INFO = (
    rb"(?:: (" + _NS + rb"+) (" + _NS + rb"+)(?: ID (?:(?! from )[^\n])* \(serial [0-9]+\) CA [^ \n]+ [^ \n]+)?)?"
)
_RE_FAILED_FULL = re.compile(
    rb"Failed ([^ \n]+) for (invalid user |illegal user )?(.*?) from ([^ \n]+) port ([0-9]+) ssh2"
    + _KEY_INFO
    + rb"(?: \[preauth\])?\Z",
    re.S,
)
_RE_ACCEPTED = re.compile(
    rb"Accepted ([^ \n]+) for (.*?) from ([^ \n]+) port ([0-9]+) ssh2" + _KEY_INFO + rb"\Z",
    re.S,
)
_RE_INVALID_FULL = re.compile(rb"(?:Invalid|Illegal) user (.*?) from ([^ \n]+)(?: port ([0-9]+))?\Z", re.S)
_RE_CLOSED_FULL = re.compile(
    rb"(Connection closed by|Disconnected from|Connection reset by|Disconnecting) (invalid|authenticating) user "
    rb"(.*) ([^ \n]+) port ([0-9]+)(?:: Too many authentication failures)?(?: \[preauth\])?\Z",
    re.S,
)
_RE_PAM_FULL = re.compile(
    rb"(?:pam_unix\(sshd:auth\): )?authentication failure; logname=[^ \n]* uid=[^ \n]* euid=[^ \n]* tty=[^ \n]*"
    rb" ruser=[^ \n]* rhost=([^ \n]*)(?: +user=(.*?))? *\Z",
    re.S,
)
_RE_PAM_MORE = re.compile(
    rb"(?:pam_unix\(sshd:auth\): )?PAM ([0-9]+) more authentication failures?; logname=[^ \n]* uid=[^ \n]*"
    rb" euid=[^ \n]* tty=[^ \n]* ruser=[^ \n]* rhost=([^ \n]*)(?: +user=(.*?))? *\Z",
    re.S,
)
_RE_NOT_ALLOWED = re.compile(
    rb"User (.*?) from ([^ \n]+) not allowed because ((?:(?! from )[^\n])*)\Z|User (.*?) not allowed because "
    rb"(account is locked|[^\n]*? password has expired|(?:(?! from )[^\n])*)\Z",
    re.S,
)
_RE_ROOT_REFUSED = re.compile(rb"ROOT LOGIN REFUSED FROM ([^ \n]+)(?: port ([0-9]+))?\Z")
_RE_MAX_ATTEMPTS = re.compile(
    rb"error: maximum authentication attempts exceeded for (invalid user )?(.*?) from ([^ \n]+) port ([0-9]+) ssh2"
    rb"(?: \[preauth\])?\Z",
    re.S,
)
_RE_TOO_MANY_OLD = re.compile(
    rb"Disconnecting: Too many authentication failures(?: for (.*?))?(?: \[preauth\])?\Z", re.S
)
_RE_PAM_ERROR = re.compile(rb"error: PAM: (.+?) for (illegal user )?(.*?) from ([^ \n]+)\Z", re.S)
_RE_REPEATED = re.compile(rb"message repeated ([0-9]+) times: \[ ?(.*)\]\Z", re.S)

MAX_REPEAT = 1000000  # a "message repeated" count above this is taken as this (a corrupt line cannot explode counts)


def parse_message(message):
    """Parse one sshd message (bytes after ``sshd[PID]: ``, without newline).

    Returns None (not an authentication message this module counts), or ``(form, fields)``:

    - ``("failed", (method, invalid, user, addr, port, key_type, fingerprint))``: ``Failed <method> for ...``;
    - ``("invalid", (user, addr, port))``: ``Invalid user`` / ``Illegal user``;
    - ``("pam", (rhost, user, illegal, count))``: a PAM failure (``pam_unix(sshd:auth): authentication failure``,
      ``PAM N more authentication failures``, ``error: PAM: ... for [illegal user] X from A``);
    - ``("closed", (verb, state, user, addr, port))``: the connection of an ``invalid`` or ``authenticating`` user
      closed, reset, disconnected, or cut for too many failures (``verb`` ``Disconnecting``);
    - ``("accepted", (method, user, addr, port, key_type, fingerprint))``;
    - ``(kind, (user, invalid, addr, port, extra))`` for ``not_allowed``, ``root_refused`` and
      ``too_many_failures``;
    - ``("repeated", (count, inner))``: ``message repeated N times: [ inner ]``, ``inner`` parsed the same way.

    Missing items are ``b""`` (``None`` for a key type and fingerprint).
    """
    if message.endswith(b"\r"):
        message = message[:-1]
    head = message[:48]
    for prefixes, pattern, build in _FORMS:
        if head.startswith(prefixes):
            match = pattern.match(message)
            return build(match.groups()) if match else None
    return None


def _repeated(groups):
    inner = parse_message(groups[1])
    if inner is None or inner[0] == REPEATED:
        return None
    return REPEATED, (min(int(groups[0]), MAX_REPEAT), inner)


def _not_allowed(groups):
    user, addr, reason, user2, reason2 = groups
    if user is None:
        return NOT_ALLOWED, (user2, b"", b"", b"", reason2)
    return NOT_ALLOWED, (user, b"", addr, b"", reason)


# The forms of parse_message: the first bytes of the message say which form it can be, its pattern reads it.
_FORMS = (
    (
        (b"Failed ",),
        _RE_FAILED_FULL,
        lambda g: (FAILED, (g[0], g[1] or b"", g[2], g[3], g[4], g[5], g[6])),
    ),
    ((b"Invalid user ", b"Illegal user "), _RE_INVALID_FULL, lambda g: (INVALID, (g[0], g[1], g[2] or b""))),
    (
        (b"pam_unix(sshd:auth): authentication failure", b"authentication failure"),
        _RE_PAM_FULL,
        lambda g: (PAM, (g[0], g[1] or b"", b"", 1)),
    ),
    (
        (b"Connection closed by ", b"Disconnected from ", b"Connection reset by ", b"Disconnecting "),
        _RE_CLOSED_FULL,
        lambda g: (CLOSED, g),
    ),
    ((b"Accepted ",), _RE_ACCEPTED, lambda g: (ACCEPTED, g)),
    ((b"User ",), _RE_NOT_ALLOWED, _not_allowed),
    ((b"ROOT LOGIN REFUSED",), _RE_ROOT_REFUSED, lambda g: (ROOT_REFUSED, (b"root", b"", g[0], g[1] or b"", b""))),
    ((b"error: maximum auth",), _RE_MAX_ATTEMPTS, lambda g: (TOO_MANY, (g[1], g[0] or b"", g[2], g[3], b""))),
    ((b"Disconnecting: Too many",), _RE_TOO_MANY_OLD, lambda g: (TOO_MANY, (g[0] or b"", b"", b"", b"", b""))),
    ((b"error: PAM: ",), _RE_PAM_ERROR, lambda g: (PAM, (g[3], g[2], g[1] or b"", 1))),
    (
        (b"PAM ", b"pam_unix(sshd:auth): PAM "),
        _RE_PAM_MORE,
        lambda g: (PAM, (g[1], g[2] or b"", b"", min(int(g[0]), MAX_REPEAT))),
    ),
    ((b"message repeated ",), _RE_REPEATED, _repeated),
)


def split_line(line):
    """``(timestamp bytes, program, pid, message)`` of a syslog line ``TIMESTAMP HOST PROGRAM[PID]: MESSAGE``.

    Returns None when the line is not one of an sshd program (traditional or RFC 3339 timestamp).
    """
    match = _LINE_RE.match(line)
    if match is None:
        return None
    return match.groups()


_LINE_RE = re.compile(
    rb"(" + TS_TRADITIONAL + rb"|" + TS_RFC3339 + rb") [^ \n]+ (sshd|sshd-session|sshd-auth|sshd\(pam_unix\))"
    rb"\[([0-9]+)\]: ([^\n]*)\Z"
)


# ---------------------------------------------------------------------------------------------- values


_ADDR_CACHE_MAX = 200000


_IPV4_RE = re.compile(
    rb"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\Z"
)


class AddressBook(object):
    """Normalised source addresses and whether each is internal, computed once per distinct raw value.

    IPv4 addresses (nearly all sources) take a fast path: already in normal form, checked against the networks as
    integers; everything else goes through :mod:`ipaddress`.
    """

    def __init__(self, networks):
        self.networks = list(networks)
        self._v4 = [(int(net.network_address), int(net.netmask)) for net in self.networks if net.version == 4]
        self._text = {}
        self._internal = {}

    def text(self, raw):
        """The normalised text of a raw address (bytes): IPv4, compressed IPv6, ``::ffff:a.b.c.d`` as ``a.b.c.d``,
        an IPv6 scope kept (``fe80::1%eth0``); anything else (a host name, with UseDNS) in its escaped text form."""
        got = self._text.get(raw)
        if got is None:
            got = raw.decode("ascii") if _IPV4_RE.match(raw) else normalize_address(raw)
            if len(self._text) < _ADDR_CACHE_MAX:
                self._text[raw] = got
        return got

    def internal(self, text):
        got = self._internal.get(text)
        if got is None:
            try:
                value = int.from_bytes(socket.inet_aton(text), "big") if text.count(".") == 3 else None
            except OSError:
                value = None
            if value is not None and ":" not in text:
                got = any(value & mask == base for base, mask in self._v4)
            else:
                got = in_networks(text, self.networks)
            if len(self._internal) < _ADDR_CACHE_MAX:
                self._internal[text] = got
        return got


def normalize_address(raw):
    """Normalised text of an address as sshd or PAM logged it (see :meth:`AddressBook.text`)."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            return path_to_text(raw)
    else:
        text = raw
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    scope = ""
    if "%" in text:
        text, _sep, scope = text.partition("%")
        scope = "%" + path_to_text(scope.encode("ascii", "surrogateescape"))
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return path_to_text((text + scope).encode("ascii", "surrogateescape"))
    if address.version == 6 and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address) + scope


def parse_networks(items):
    """``ip_network`` objects of CIDR texts; raises ValueError naming the bad one."""
    networks = []
    for item in items or ():
        try:
            networks.append(ipaddress.ip_network(str(item).strip(), strict=False))
        except ValueError as exc:
            raise ValueError("internal_networks: %r is not a CIDR network: %s" % (item, exc)) from exc
    return networks


def in_networks(text, networks):
    """True when the normalised address ``text`` is in one of ``networks`` (a host name never is)."""
    try:
        address = ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return False
    return any(address.version == net.version and address in net for net in networks)


def user_text(raw, limit):
    """A user name as logged (bytes) in the escaped text form of ``_pathtext``, at most ``limit`` bytes of it kept.

    A longer name is cut and ends with the marker ``\\...[N bytes]`` (N the length logged); the marker cannot occur
    in the escaped form of a name (a real backslash is always doubled), so a cut name is never taken for another.
    """
    if raw is None:
        return None
    if len(raw) > limit:
        return "%s\\...[%d bytes]" % (path_to_text(raw[:limit]), len(raw))
    return path_to_text(raw)
