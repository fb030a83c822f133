# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Every netfilter line form of _firewall_parse, by the block search and by the per-message parse."""

from __future__ import annotations

import pytest

from ansible_collections.fleetwatch.audit.plugins.module_utils._firewall_parse import (
    BAD,
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
    block_re,
    candidates,
    direction,
    is_syn,
    message_row,
    parse_fields,
    prefix_text,
    proto_text,
    ufw_action,
)

TCP_OUT = (
    b"FW-OUT IN= OUT=eth0 SRC=10.1.2.3 DST=198.51.100.7 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=4242 DF PROTO=TCP "
    b"SPT=40000 DPT=25 WINDOW=64240 RES=0x00 SYN URGP=0"
)
UFW_IN = (
    b"[UFW BLOCK] IN=eth0 OUT= MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 SRC=203.0.113.9 DST=10.1.2.3 LEN=40 "
    b"TOS=0x00 PREC=0x00 TTL=240 ID=54321 PROTO=TCP SPT=5555 DPT=22 WINDOW=1024 RES=0x00 ACK SYN URGP=0"
)
UDP_FORWARD = (
    b"[UFW ALLOW] IN=br0 OUT=br0 PHYSIN=veth1 PHYSOUT=veth2 MAC=aa:bb SRC=192.168.7.2 DST=192.168.7.1 LEN=71 TOS=0x00 "
    b"PREC=0x00 TTL=64 ID=7 DF PROTO=UDP SPT=5353 DPT=53 LEN=51"
)
ICMP_LOCAL = (
    b"[UFW AUDIT] IN=lo OUT= SRC=127.0.0.1 DST=127.0.0.1 LEN=84 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=ICMP TYPE=8 "
    b"CODE=0 ID=9 SEQ=1"
)
ICMP6_PADDED = (
    b"nft-in6: IN=eth0 OUT= SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=fe80:0000:0000:0000:0211:22ff:fe33:4455 "
    b"LEN=104 TC=0 HOPLIMIT=64 FLOWLBL=12345 PROTO=ICMPv6 TYPE=128 CODE=0 ID=1 SEQ=1"
)
TCP6_SEQ = (
    b"IN=eth0 OUT= SRC=2001:db8::9 DST=fd00::5 LEN=80 TC=0 HOPLIMIT=57 FLOWLBL=0 PROTO=TCP SPT=443 DPT=51000 "
    b"SEQ=1234 ACK=5678 WINDOW=500 RES=0x00 ACK PSH URGP=0 OPT (0101080A)"
)
GRE_NUMBER = b"gre IN=eth1 OUT= SRC=10.9.0.1 DST=10.9.0.2 LEN=100 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=47"
ICMP_ERROR = (
    b"out IN= OUT=eth0 SRC=10.1.2.3 DST=203.0.113.1 LEN=88 TOS=0x00 PREC=0xC0 TTL=64 ID=3 PROTO=ICMP TYPE=3 CODE=3 "
    b"[SRC=203.0.113.1 DST=10.1.2.3 LEN=60 TOS=0x00 PREC=0x00 TTL=50 ID=1 PROTO=UDP SPT=53 DPT=40000 LEN=40 ]"
)

FORMS = [
    # message, (prefix, in, out, src, dst, proto, dport, flags, icmp type)
    (TCP_OUT, (b"FW-OUT ", b"", b"eth0", b"10.1.2.3", b"198.51.100.7", b"TCP", b"25", b"SYN ", b"")),
    (UFW_IN, (b"[UFW BLOCK] ", b"eth0", b"", b"203.0.113.9", b"10.1.2.3", b"TCP", b"22", b"ACK SYN ", b"")),
    (UDP_FORWARD, (b"[UFW ALLOW] ", b"br0", b"br0", b"192.168.7.2", b"192.168.7.1", b"UDP", b"53", b"", b"")),
    (ICMP_LOCAL, (b"[UFW AUDIT] ", b"lo", b"", b"127.0.0.1", b"127.0.0.1", b"ICMP", b"", b"", b"8")),
    (
        ICMP6_PADDED,
        (
            b"nft-in6: ",
            b"eth0",
            b"",
            b"2001:0db8:0000:0000:0000:0000:0000:0001",
            b"fe80:0000:0000:0000:0211:22ff:fe33:4455",
            b"ICMPv6",
            b"",
            b"",
            b"128",
        ),
    ),
    (TCP6_SEQ, (b"", b"eth0", b"", b"2001:db8::9", b"fd00::5", b"TCP", b"51000", b"ACK PSH ", b"")),
    (GRE_NUMBER, (b"gre ", b"eth1", b"", b"10.9.0.1", b"10.9.0.2", b"47", b"", b"", b"")),
    (ICMP_ERROR, (b"out ", b"", b"eth0", b"10.1.2.3", b"203.0.113.1", b"ICMP", b"", b"", b"3")),
]
FIELDS = (PREFIX, IN, OUT, SRC, DST, PROTO, DPORT, FLAGS, ICMP_TYPE)
HEADS = [
    (b"Dec  3 01:02:03 gw kernel: [ 1234.567890] ", (b"Dec  3 01", b":02:03", b"")),
    (b"Dec 13 01:02:03 gw kernel: ", (b"Dec 13 01", b":02:03", b"")),
    (b"2026-12-03T01:02:03.123456+01:00 gw kernel: [12.5] ", (b"2026-12-03T01", b":02:03.123456", b"+01:00")),
    (b"2026-12-03 01:02:03Z gw [   99.000001] ", (b"2026-12-03 01", b":02:03", b"Z")),
]


def fields(row):
    return tuple(row[index] for index in FIELDS)


@pytest.mark.parametrize("message, expected", FORMS)
@pytest.mark.parametrize("head, stamp", HEADS)
def test_block_search_reads_every_form(message, expected, head, stamp):
    rows = block_re().findall(b"\n" + head + message + b"\n")
    assert len(rows) == 1
    assert (rows[0][HOUR], rows[0][MINSEC], rows[0][OFFSET]) == stamp
    assert fields(rows[0]) == expected and rows[0][BAD] == b""


@pytest.mark.parametrize("message, expected", FORMS)
def test_message_parse_reads_every_form(message, expected):
    assert fields(message_row(message)) == expected
    assert fields(message_row(b"[ 5.000000] " + message + b"\r\n")) == expected


def test_other_lines_are_no_rows():
    block = b"\nDec  3 01:02:03 gw sshd[1]: Accepted key\nDec  3 01:02:03 gw kernel: usb 1-1: new device\n"
    assert block_re().findall(block) == []
    assert message_row(b"usb 1-1: new device") is None
    assert message_row(b"LOGIN=x") is None


def test_hostile_prefix_never_moves_the_fields():
    fake = b"SRC=6.6.6.6 DST=7.7.7.7 IN=x OUT=y SRC=6.6.6.6 DST=7.7.7.7 LEN=1 PROTO=UDP SPT=1 DPT=99 "
    row = message_row(fake + TCP_OUT)
    assert fields(row)[1:] == FORMS[0][1][1:] and row[PREFIX] == fake + b"FW-OUT "
    rows = block_re().findall(b"\nDec  3 01:02:03 gw kernel: " + fake + TCP_OUT + b"\n")
    assert fields(rows[0])[1:] == FORMS[0][1][1:]
    assert prefix_text(b"a\x00\x1b[31m") == "a\\x00\\x1b[31m"


def test_prefix_without_space_and_physin_bridges():
    row = message_row(b"FW-IN" + UFW_IN[len(b"[UFW BLOCK] ") :])
    assert row[PREFIX] == b"FW-IN" and row[IN] == b"eth0" and row[SRC] == b"203.0.113.9"
    assert message_row(UDP_FORWARD)[IN] == b"br0"


def test_truncated_lines_keep_what_they_have():
    cut = TCP_OUT[: TCP_OUT.index(b"DPT=") + 2]
    row = message_row(cut)
    assert row[BAD] == b"" and row[PROTO] == b"TCP" and row[DPORT] == b""
    for end in (b"SRC=10.1.2.3 DST=19", b"SRC=10.1.2.3 DST=198.51.100.7 LEN=60 TOS=0x00", b"SRC=10.1"):
        message = TCP_OUT[: TCP_OUT.index(end) + len(end)]
        assert message_row(message)[BAD] == message
    rows = block_re(malformed=True).findall(b"\nDec  3 01:02:03 gw kernel: FW IN=eth0 OUT= SRC=1.2\n")
    assert rows[0][BAD] == b"FW IN=eth0 OUT= SRC=1.2" and rows[0][HOUR] == b"Dec  3 01"


def test_fields_in_another_order_are_read_token_by_token():
    message = b"odd IN=eth0 OUT= SRC=10.0.0.1 PROTO=TCP DST=10.0.0.2 SPT=1 DPT=22 SYN"
    row = message_row(message)
    assert fields(row) == (b"odd ", b"eth0", b"", b"10.0.0.1", b"10.0.0.2", b"TCP", b"22", b"SYN ", b"")
    assert parse_fields(b"nothing here") is None
    assert parse_fields(ICMP_ERROR)[b"PROTO"] == b"ICMP"  # the quoted packet's PROTO=UDP is not this one's


def test_nuls_and_huge_lines():
    nul = TCP_OUT.replace(b"FW-OUT ", b"F\x00W ")
    assert message_row(nul)[PREFIX] == b"F\x00W "
    huge = TCP_OUT + b" " + b"X" * 200000
    assert fields(message_row(huge)) == FORMS[0][1]
    garbage = b"IN= OUT= " + b"\x00\xff" * 100000
    assert message_row(garbage)[BAD] == garbage
    block = b"\nDec  3 01:02:03 gw kernel: " + huge + b"\nDec  3 01:02:04 gw kernel: " + garbage + b"\n"
    rows = block_re(malformed=True).findall(block)
    assert len(rows) == 2 and rows[0][SRC] == b"10.1.2.3" and rows[1][BAD] == garbage
    assert len(block_re().findall(block)) == 1 and candidates(block, 0, len(block)) == 2


def test_small_helpers():
    assert [direction(*pair) for pair in ((b"e", b""), (b"", b"e"), (b"e", b"f"), (b"", b""))] == [
        "in",
        "out",
        "forward",
        "local",
    ]
    assert is_syn(b"SYN ") and not is_syn(b"ACK SYN ") and not is_syn(b"")
    assert proto_text(b"ICMPv6") == "ICMPV6" and proto_text(b"47") == "47"
    assert [ufw_action(p) for p in (b"[UFW BLOCK] ", b"[UFW ALLOW] ", b"[UFW AUDIT] ", b"FW ")] == [
        "block",
        "allow",
        "audit",
        None,
    ]
