# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""TCP and DNS probes against real sockets on 127.0.0.1 and ::1 that the tests open themselves."""

from __future__ import annotations

import socket
import struct
import threading
import time

import pytest

from ansible_collections.fleetwatch.audit.plugins.module_utils import _egress_probe
from ansible_collections.fleetwatch.audit.plugins.module_utils._egress_dns import build_query, encode_name, query
from ansible_collections.fleetwatch.audit.plugins.module_utils._egress_probe import gather, probe_tcp


def closed_port(family=socket.AF_INET, host="127.0.0.1"):
    """A port nothing listens on: bound (so the kernel picks a free one), then closed."""
    with socket.socket(family) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class DnsServer:
    """A UDP server on 127.0.0.1 that answers each query with its id (or, with ``answer=False``, never answers)."""

    def __init__(self, answer=True):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.answer, self.queries, self.stopped = answer, [], threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def serve(self):
        while not self.stopped.is_set():
            try:
                data, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            self.queries.append(data)
            if self.answer:
                # A stranger's id first: the probe must wait for its own.
                self.sock.sendto(struct.pack("!HH", data[0] ^ 0xFF, 0x8180) + data[4:], peer)
                self.sock.sendto(data[:2] + struct.pack("!H", 0x8183) + data[4:], peer)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join()
        self.sock.close()


def test_listener_connects_from_loopback(listener):
    entry = probe_tcp("127.0.0.1", listener, 2.0, name="here")
    assert entry == dict(
        entry, name="here", host="127.0.0.1", port=listener, address="127.0.0.1", connected=True, source="127.0.0.1"
    )
    assert entry["error"] is None and 0 <= entry["seconds"] < 2.0


def test_ipv6_loopback_listener():
    try:
        sock = socket.socket(socket.AF_INET6)
        sock.bind(("::1", 0))
    except OSError as exc:
        pytest.skip("no IPv6 loopback here: %s" % exc)
    with sock:
        sock.listen()
        entry = probe_tcp("::1", sock.getsockname()[1], 2.0)
    assert (entry["connected"], entry["address"], entry["source"]) == (True, "::1", "::1")


def test_closed_port_is_refused_in_the_gatherers_words():
    entry = probe_tcp("127.0.0.1", closed_port(), 2.0)
    assert (entry["connected"], entry["source"], entry["address"]) == (False, None, "127.0.0.1")
    assert entry["error"] == "Connection refused (ECONNREFUSED)"


def test_timeout_holds():
    # A listener whose accept queue is full drops SYNs (tcp_abort_on_overflow=0), as a filtering firewall does.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(0)
        port = sock.getsockname()[1]
        assert probe_tcp("127.0.0.1", port, 1.0)["connected"]  # fills the queue: never accepted
        start = time.monotonic()
        entry = probe_tcp("127.0.0.1", port, 0.3)
        took = time.monotonic() - start
    assert (entry["connected"], entry["source"], entry["error"]) == (False, None, "timed out")
    assert 0.3 <= took < 1.5 and 0.3 <= entry["seconds"] < 1.5


def test_a_name_tries_its_addresses_in_turn(monkeypatch, listener):
    asked = []

    def two_addresses(host, port, family, socktype):
        asked.append((host, port, socktype))
        return [
            (socket.AF_INET, socktype, 6, "", ("127.0.0.1", closed_port())),
            (socket.AF_INET, socktype, 6, "", ("127.0.0.1", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", two_addresses)
    entry = probe_tcp("mirror.example", listener, 2.0)
    assert asked == [("mirror.example", listener, socket.SOCK_STREAM)]
    assert (entry["host"], entry["address"], entry["connected"], entry["error"]) == (
        "mirror.example",
        "127.0.0.1",
        True,
        None,
    )


def test_a_name_that_does_not_resolve(monkeypatch):
    def no_such_name(*args):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    entry = probe_tcp("gone.example", 443, 2.0)
    assert (entry["address"], entry["connected"], entry["source"]) == (None, False, None)
    assert entry["error"] == "cannot resolve gone.example: Name or service not known"


def test_dns_server_that_answers():
    with DnsServer() as server:
        entry = query("127.0.0.1", "example.org", server.port, 2.0)
    assert entry == dict(entry, server="127.0.0.1", name="example.org", answered=True, error=None)
    assert len(server.queries) == 1
    question = server.queries[0][12:]
    assert question == b"\x07example\x03org\x00\x00\x01\x00\x01"
    assert struct.unpack("!HHHHH", server.queries[0][2:12]) == (0x0100, 1, 0, 0, 0)


def test_dns_server_that_never_answers_times_out_within_the_timeout():
    with DnsServer(answer=False) as server:
        start = time.monotonic()
        entry = query("127.0.0.1", "example.org.", server.port, 0.4)
        took = time.monotonic() - start
    assert (entry["answered"], entry["error"]) == (False, "timed out")
    assert 0.4 <= took < 1.5 and entry["seconds"] >= 0.4
    assert len(server.queries) == 1


def test_dns_closed_port_is_refused():
    entry = query("127.0.0.1", "example.org", closed_port(socket.AF_INET), 2.0)
    assert (entry["answered"], entry["error"]) == (False, "Connection refused (ECONNREFUSED)")


def test_query_bytes():
    assert (
        build_query(0x1234, "a.bc")
        == b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x02bc\x00\x00\x01\x00\x01"
    )
    for bad in ("", "a..b", "x" * 64 + ".org", "é.org", ("a" * 62 + ".") * 5):
        with pytest.raises(ValueError, match="not a valid host name"):
            encode_name(bad)


def test_no_targets_only_the_policy(monkeypatch):
    monkeypatch.setattr(_egress_probe, "read_firewall", lambda: {"tool": "nft"})
    monkeypatch.setattr(_egress_probe, "probe_tcp", pytest.fail)
    assert gather([], 3.0) == {"probes": [], "dns": None, "policy": {"tool": "nft"}, "probed": True}
    assert gather([], 3.0, read_policy=False)["policy"] is None


def test_check_mode_probes_nothing(monkeypatch, listener):
    monkeypatch.setattr(_egress_probe, "read_firewall", lambda: {"tool": "iptables"})
    with DnsServer() as server:
        dns = {"server": "127.0.0.1", "name": "example.org", "port": server.port}
        result = gather([{"host": "127.0.0.1", "port": listener}], 1.0, dns, check_mode=True)
    assert result == {"probes": [], "dns": None, "policy": {"tool": "iptables"}, "probed": False}
    assert server.queries == []


def test_every_target_in_order(monkeypatch, listener):
    monkeypatch.setattr(_egress_probe, "read_firewall", lambda: None)
    targets = [{"host": "127.0.0.1", "port": listener, "name": "open"}, {"host": "127.0.0.1", "port": closed_port()}]
    result = gather(targets, 1.0)
    assert [(p["name"], p["connected"]) for p in result["probes"]] == [("open", True), (None, False)]


@pytest.mark.parametrize(
    ("targets", "timeout", "dns", "message"),
    [
        ([], 0, None, "timeout must be more than 0"),
        ([], 60.5, None, "at most 60 seconds"),
        ([{"host": "127.0.0.1", "port": 0}], 1.0, None, "targets[0]: port must be 1 to 65535, got 0"),
        ([], 1.0, {"server": "127.0.0.1", "name": "x", "port": 65536}, "dns: port must be 1 to 65535"),
        ([], 1.0, {"server": "127.0.0.1", "name": "a..b"}, "not a valid host name"),
    ],
)
def test_invalid_options(targets, timeout, dns, message):
    with pytest.raises(ValueError) as raised:
        gather(targets, timeout, dns)
    assert message in str(raised.value)
