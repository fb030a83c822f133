"""The sshd message forms, one by one: the per-message parser and the block search agree."""

from __future__ import annotations

import pytest
from sshd_lines import START, line, rfc, trad

from ansible_collections.fleetwatch.audit.plugins.module_utils import _sshd_parse as P

# (message, expected parse). Every form of docs/modules/sshd_auth_info.md, written as OpenSSH 5.x-10.x logs it.
FORMS = [
    # invalid users
    ("Invalid user admin from 203.0.113.9 port 51234", ("invalid", (b"admin", b"203.0.113.9", b"51234"))),
    ("Invalid user admin from 203.0.113.9", ("invalid", (b"admin", b"203.0.113.9", b""))),
    ("Illegal user oracle from 203.0.113.9", ("invalid", (b"oracle", b"203.0.113.9", b""))),
    ("Invalid user  from 203.0.113.9 port 22", ("invalid", (b"", b"203.0.113.9", b"22"))),
    # failed tries, every method
    (
        "Failed password for root from 203.0.113.9 port 40000 ssh2",
        ("failed", (b"password", b"", b"root", b"203.0.113.9", b"40000", None, None)),
    ),
    (
        "Failed password for invalid user admin from 203.0.113.9 port 40000 ssh2",
        ("failed", (b"password", b"invalid user ", b"admin", b"203.0.113.9", b"40000", None, None)),
    ),
    (
        "Failed publickey for root from 198.51.100.4 port 2222 ssh2: ED25519 SHA256:4Upswn7IpAmSxwZsXK/fwzf8Dj0+eYpE71",
        (
            "failed",
            (
                b"publickey",
                b"",
                b"root",
                b"198.51.100.4",
                b"2222",
                b"ED25519",
                b"SHA256:4Upswn7IpAmSxwZsXK/fwzf8Dj0+eYpE71",
            ),
        ),
    ),
    (
        "Failed keyboard-interactive/pam for invalid user test from 203.0.113.9 port 1 ssh2",
        ("failed", (b"keyboard-interactive/pam", b"invalid user ", b"test", b"203.0.113.9", b"1", None, None)),
    ),
    (
        "Failed none for invalid user 0 from 5.188.10.180 port 49811 ssh2",
        ("failed", (b"none", b"invalid user ", b"0", b"5.188.10.180", b"49811", None, None)),
    ),
    (
        "Failed hostbased for deploy from 10.0.0.3 port 5 ssh2: RSA SHA256:abc",
        ("failed", (b"hostbased", b"", b"deploy", b"10.0.0.3", b"5", b"RSA", b"SHA256:abc")),
    ),
    (
        "Failed none for invalid user x from 203.0.113.9 port 5 ssh2 [preauth]",
        ("failed", (b"none", b"invalid user ", b"x", b"203.0.113.9", b"5", None, None)),
    ),
    # connections closed, disconnected, reset, cut during authentication
    (
        "Connection closed by invalid user admin 203.0.113.9 port 51234 [preauth]",
        ("closed", (b"Connection closed by", b"invalid", b"admin", b"203.0.113.9", b"51234")),
    ),
    (
        "Connection closed by authenticating user root 203.0.113.9 port 51234 [preauth]",
        ("closed", (b"Connection closed by", b"authenticating", b"root", b"203.0.113.9", b"51234")),
    ),
    (
        "Disconnected from invalid user admin 203.0.113.9 port 51234 [preauth]",
        ("closed", (b"Disconnected from", b"invalid", b"admin", b"203.0.113.9", b"51234")),
    ),
    (
        "Disconnected from authenticating user root 203.0.113.9 port 51234 [preauth]",
        ("closed", (b"Disconnected from", b"authenticating", b"root", b"203.0.113.9", b"51234")),
    ),
    (
        "Connection reset by authenticating user root 203.0.113.9 port 51234 [preauth]",
        ("closed", (b"Connection reset by", b"authenticating", b"root", b"203.0.113.9", b"51234")),
    ),
    (
        "Disconnecting invalid user admin 203.0.113.9 port 51234: Too many authentication failures [preauth]",
        ("closed", (b"Disconnecting", b"invalid", b"admin", b"203.0.113.9", b"51234")),
    ),
    (
        "Disconnecting authenticating user root 203.0.113.9 port 51234: Too many authentication failures [preauth]",
        ("closed", (b"Disconnecting", b"authenticating", b"root", b"203.0.113.9", b"51234")),
    ),
    # refused
    (
        "User root from 203.0.113.9 not allowed because not listed in AllowUsers",
        ("not_allowed", (b"root", b"", b"203.0.113.9", b"", b"not listed in AllowUsers")),
    ),
    (
        "User bob from 10.1.1.1 not allowed because listed in DenyUsers",
        ("not_allowed", (b"bob", b"", b"10.1.1.1", b"", b"listed in DenyUsers")),
    ),
    (
        "User bob from 10.1.1.1 not allowed because none of user's groups are listed in AllowGroups",
        ("not_allowed", (b"bob", b"", b"10.1.1.1", b"", b"none of user's groups are listed in AllowGroups")),
    ),
    (
        "User bob from 10.1.1.1 not allowed because shell /bin/false does not exist",
        ("not_allowed", (b"bob", b"", b"10.1.1.1", b"", b"shell /bin/false does not exist")),
    ),
    (
        "User svc not allowed because account is locked",
        ("not_allowed", (b"svc", b"", b"", b"", b"account is locked")),
    ),
    ("ROOT LOGIN REFUSED FROM 203.0.113.9", ("root_refused", (b"root", b"", b"203.0.113.9", b"", b""))),
    ("ROOT LOGIN REFUSED FROM 203.0.113.9 port 4", ("root_refused", (b"root", b"", b"203.0.113.9", b"4", b""))),
    (
        "error: maximum authentication attempts exceeded for invalid user admin from 203.0.113.9 port 5 ssh2 [preauth]",
        ("too_many_failures", (b"admin", b"invalid user ", b"203.0.113.9", b"5", b"")),
    ),
    (
        "error: maximum authentication attempts exceeded for root from 203.0.113.9 port 5 ssh2 [preauth]",
        ("too_many_failures", (b"root", b"", b"203.0.113.9", b"5", b"")),
    ),
    (
        "Disconnecting: Too many authentication failures for root [preauth]",
        ("too_many_failures", (b"root", b"", b"", b"", b"")),
    ),
    # PAM
    (
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser="
        " rhost=203.0.113.9  user=root",
        ("pam", (b"203.0.113.9", b"root", b"", 1)),
    ),
    (
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.9 ",
        ("pam", (b"203.0.113.9", b"", b"", 1)),
    ),
    (
        "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4  user=root",
        ("pam", (b"218.188.2.4", b"root", b"", 1)),
    ),
    (
        "PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.9  user=root",
        ("pam", (b"203.0.113.9", b"root", b"", 2)),
    ),
    (
        "PAM 1 more authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.9",
        ("pam", (b"203.0.113.9", b"", b"", 1)),
    ),
    (
        "error: PAM: Authentication failure for illegal user admin from 203.0.113.9",
        ("pam", (b"203.0.113.9", b"admin", b"illegal user ", 1)),
    ),
    (
        "error: PAM: Authentication failure for root from host.example.net",
        ("pam", (b"host.example.net", b"root", b"", 1)),
    ),
    # successes
    (
        "Accepted publickey for deploy from 10.0.3.17 port 50212 ssh2: ED25519 SHA256:Jk8f2kS9d0aLx3mQ7pVb1nYc5tRz",
        (
            "accepted",
            (b"publickey", b"deploy", b"10.0.3.17", b"50212", b"ED25519", b"SHA256:Jk8f2kS9d0aLx3mQ7pVb1nYc5tRz"),
        ),
    ),
    (
        "Accepted password for fztu from 119.137.62.142 port 49116 ssh2",
        ("accepted", (b"password", b"fztu", b"119.137.62.142", b"49116", None, None)),
    ),
    (
        "Accepted publickey for root from 10.0.0.1 port 3 ssh2: RSA-CERT SHA256:aaa ID deploy"
        " (serial 7) CA ED25519 SHA256:bbb",
        ("accepted", (b"publickey", b"root", b"10.0.0.1", b"3", b"RSA-CERT", b"SHA256:aaa")),
    ),
    (
        "Accepted keyboard-interactive/pam for alice from 2001:db8::7 port 4 ssh2",
        ("accepted", (b"keyboard-interactive/pam", b"alice", b"2001:db8::7", b"4", None, None)),
    ),
]


@pytest.mark.parametrize(("message", "expected"), FORMS, ids=[m[:48] for m, _e in FORMS])
def test_every_form_parses(message, expected):
    assert P.parse_message(message.encode()) == expected


def test_message_repeated_carries_its_count_and_inner_form():
    got = P.parse_message(b"message repeated 5 times: [ Failed password for root from 5.36.59.76 port 42393 ssh2]")
    assert got == ("repeated", (5, ("failed", (b"password", b"", b"root", b"5.36.59.76", b"42393", None, None))))
    assert P.parse_message(b"message repeated 3 times: [ Received disconnect from 1.2.3.4]") is None
    huge = P.parse_message(b"message repeated 99999999999 times: [ Invalid user x from 1.2.3.4]")
    assert huge[1][0] == P.MAX_REPEAT


@pytest.mark.parametrize(
    "message",
    [
        "Accepted key ED25519 SHA256:UdzOkWeZy/X8OFb90Y3C found at /root/.ssh/authorized_keys:1",
        "Postponed publickey for root from 127.0.0.1 port 35448 ssh2 [preauth]",
        "Connection closed by 203.0.113.9 port 51234 [preauth]",
        "Received disconnect from 203.0.113.9 port 51234:11: Bye Bye [preauth]",
        "Disconnected from user deploy 10.0.0.5 port 22",
        "pam_unix(sshd:auth): check pass; user unknown",
        "input_userauth_request: invalid user webmaster [preauth]",
        "Failed",
        "Invalid user",
        "\x00\xff garbage",
    ],
)
def test_other_messages_are_not_attempts(message):
    assert P.parse_message(message.encode("utf-8", "surrogateescape")) is None


@pytest.mark.parametrize(
    ("user", "tail"),
    [
        ("x from 10.0.0.5 port 1 ssh2", " from 203.0.113.9 port 5 ssh2"),
        ("a b c", " from 203.0.113.9 port 5 ssh2"),
        ("x from 10.0.0.5 port 1 ssh2: RSA SHA256:fake", " from 203.0.113.9 port 5 ssh2: RSA SHA256:real"),
    ],
)
def test_a_user_name_never_moves_the_source(user, tail):
    """sshd prints the user first and the address last: a name that looks like a line's end frames nobody."""
    method = "publickey" if "SHA256" in tail else "password"
    got = P.parse_message(f"Failed {method} for invalid user {user}{tail}".encode())
    assert got[1][2] == user.encode() and got[1][3] == b"203.0.113.9"
    closed = P.parse_message(f"Connection closed by invalid user {user} 203.0.113.9 port 5 [preauth]".encode())
    assert closed[1][2] == user.encode() and closed[1][3] == b"203.0.113.9"
    invalid = P.parse_message(f"Invalid user {user} from 203.0.113.9 port 5".encode())
    assert invalid[1][:2] == (user.encode(), b"203.0.113.9")


def test_cr_lf_line_ends():
    assert P.parse_message(b"Invalid user admin from 203.0.113.9\r") == ("invalid", (b"admin", b"203.0.113.9", b""))


# ---------------------------------------------------------------------------------------------- block search


def block(lines):
    return ("\n" + "\n".join(lines) + "\n").encode("utf-8", "surrogateescape")


@pytest.mark.parametrize("program", ["sshd", "sshd-session", "sshd-auth"])
@pytest.mark.parametrize("stamp", ["traditional", "rfc3339"])
def test_block_search_headers(program, stamp):
    text = line(
        START,
        4242,
        "Invalid user admin from 203.0.113.9 port 51234",
        program,
        stamp=rfc if stamp == "rfc3339" else trad,
    )
    for kind in (stamp, "any"):
        rows = P.block_re(kind).findall(block([text, "Oct  1 00:00:01 web1 CRON[1]: Invalid user admin from 1.2.3.4"]))
        assert len(rows) == 1
        row = rows[0]
        assert row[P.ROW_PID] == b"4242" and row[P.KEY] == b"Invalid user admin from 203.0.113.9"
        assert row[P.ADDR] == b"203.0.113.9" and row[P.INVALID_MARK] == b"I"


def test_block_search_old_pam_program_and_forms():
    lines = [
        "Jun 15 12:12:34 combo sshd(pam_unix)[23397]: authentication failure; logname= uid=0 euid=0"
        " tty=NODEVssh ruser= rhost=218.188.2.4 ",
        "Jun 15 12:12:35 combo sshd[23398]: Failed password for root from 218.188.2.4 port 4 ssh2",
        "Jun 15 12:12:36 combo sshd[23398]: Connection closed by authenticating user root 218.188.2.4 port 4 [preauth]",
        "Jun 15 12:12:37 combo sshd[23398]: message repeated 2 times: [ Failed password for root"
        " from 218.188.2.4 port 4 ssh2]",
        "Jun 15 12:12:38 combo sshd[23398]: Received disconnect from 218.188.2.4 port 4:11: Bye [preauth]",
    ]
    rows = P.block_re("traditional").findall(block(lines))
    assert [bool(r[P.PAM_MESSAGE]) for r in rows] == [True, False, False, False]
    assert rows[1][P.KEY] == b"Failed password for root from 218.188.2.4" and rows[1][P.METHOD] == b"password"
    assert rows[2][P.CLOSED_MESSAGE].startswith(b"Connection closed by authenticating user root")
    assert (rows[3][P.TIMES], rows[3][P.REPEATED_KEY]) == (b"2", b"Failed password for root from 218.188.2.4")


def test_block_search_hands_odd_names_to_the_parser():
    long_name = "a" * 300
    lines = [
        line(START, 1, f"Failed password for invalid user {long_name} from 203.0.113.9 port 5 ssh2"),
        line(START, 2, "Failed password for invalid user a b from 203.0.113.9 port 5 ssh2"),
    ]
    rows = P.block_re("traditional").findall(block(lines))
    assert all(row[P.REST] and not row[P.KEY] for row in rows)


def test_keys_round_trip():
    key = P.failed_key(b"password", b"invalid user ", b"a from b", b"198.51.100.1")
    assert P.key_fields(key) == (b"F", b"password", b"a from b", b"invalid user ", b"198.51.100.1")
    assert P.key_addr(key) == b"198.51.100.1"
    assert P.key_fields(P.invalid_key(b"x", b"::1")) == (b"I", b"", b"x", b"invalid", b"::1")
    assert P.key_fields((b"N", b"bob", b"", b"10.0.0.1")) == (b"N", b"", b"bob", b"", b"10.0.0.1")


# ---------------------------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"203.0.113.9", "203.0.113.9"),
        (b"::ffff:203.0.113.9", "203.0.113.9"),
        (b"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        (b"fe80::1%eth0", "fe80::1%eth0"),
        (b"[2001:db8::2]", "2001:db8::2"),
        (b"5.36.59.76.dynamic-dsl-ip.omantel.net.om", "5.36.59.76.dynamic-dsl-ip.omantel.net.om"),
        (b"host\x1b[31m", "host\\x1b[31m"),
        (b"010.1.1.1", "010.1.1.1"),
    ],
)
def test_addresses_are_normalised(raw, text):
    book = P.AddressBook(P.parse_networks(["10.0.0.0/8"]))
    assert book.text(raw) == text


def test_internal_networks():
    book = P.AddressBook(P.parse_networks(["10.0.0.0/8", "fc00::/7", "127.0.0.0/8"]))
    assert book.internal("10.9.8.7") and book.internal("127.0.0.1") and book.internal("fd00::1")
    assert not book.internal("203.0.113.9") and not book.internal("2001:db8::1")
    assert not book.internal("host.example.net")
    with pytest.raises(ValueError, match="not a CIDR"):
        P.parse_networks(["10.0.0.0/33"])


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"admin", "admin"),
        (b"john smith", "john smith"),
        (b"'; DROP TABLE users; --", "'; DROP TABLE users; --"),
        (b"<script>alert(1)</script>", "<script>alert(1)</script>"),
        (b"\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        (b"\\033[31m", "\\\\033[31m"),
        (b"caf\xc3\xa9", "café"),
        (b"bad\xff\xfe", "bad\\xff\\xfe"),
    ],
)
def test_user_names_lossless(raw, text):
    assert P.user_text(raw, 100) == text


def test_long_user_names_are_cut_with_a_marker():
    cut = P.user_text(b"A" * 4096, 100)
    assert cut == "A" * 100 + "\\...[4096 bytes]"
    # the marker cannot be produced by a name: a real backslash is doubled
    assert P.user_text(b"A" * 90 + b"\\...[4096 bytes]", 200) != cut
