# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Egress for real: two network namespaces joined by a veth pair, a TCP listener and a DNS responder in B, the probe
run in A (its backend, in a child process under ``ip netns exec``), with a route, with an OUTPUT drop rule, without
the route. Only the test's own namespaces and addresses (10.98.0.1, 10.98.0.2) are touched; both namespaces are
deleted at the end, whatever happened.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from harness.environment import COLLECTIONS_PATH, DEFAULT_TIMEOUT, require_binaries, skip_or_fail

ADDRESS_A, ADDRESS_B, PREFIX = "10.98.0.1", "10.98.0.2", 24
TCP_PORT, DNS_PORT = 8080, 5353
TIMEOUT = 1.0

# Namespace B's servers: accept and close TCP connections; answer every UDP query with its own id.
SERVERS = textwrap.dedent(
    """
    import socket, struct, sys, threading
    tcp = socket.create_server((sys.argv[1], int(sys.argv[2])))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((sys.argv[1], int(sys.argv[3])))
    def answer():
        while True:
            data, peer = udp.recvfrom(512)
            udp.sendto(data[:2] + struct.pack("!H", 0x8180) + data[4:], peer)
    threading.Thread(target=answer, daemon=True).start()
    print("ready", flush=True)
    while True:
        tcp.accept()[0].close()
    """
)

# Namespace A's probe: the module's backend, its result as JSON.
PROBE = textwrap.dedent(
    """
    import json, sys
    from ansible_collections.fleetwatch.audit.plugins.module_utils._egress_probe import gather
    print(json.dumps(gather(**json.loads(sys.argv[1]))))
    """
)


def run(*command):
    subprocess.run(command, check=True, capture_output=True, timeout=DEFAULT_TIMEOUT)


class Namespaces:
    """Namespaces A and B of this test process, a veth pair between them, addressed in 10.98.0.0/24."""

    def __init__(self):
        suffix = os.getpid() % 100000
        self.a, self.b = "fw-egress-a-%d" % suffix, "fw-egress-b-%d" % suffix
        self.veth_a, self.veth_b = "fwea%d" % suffix, "fweb%d" % suffix

    def create(self):
        run("ip", "netns", "add", self.a)
        run("ip", "netns", "add", self.b)
        run("ip", "link", "add", self.veth_a, "netns", self.a, "type", "veth", "peer", self.veth_b, "netns", self.b)
        for namespace, veth, address in ((self.a, self.veth_a, ADDRESS_A), (self.b, self.veth_b, ADDRESS_B)):
            run("ip", "-n", namespace, "address", "add", "%s/%d" % (address, PREFIX), "dev", veth)
            run("ip", "-n", namespace, "link", "set", "lo", "up")
            run("ip", "-n", namespace, "link", "set", veth, "up")

    def delete(self):
        for namespace in (self.a, self.b):
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)

    def servers(self):
        command = ["ip", "netns", "exec", self.b, sys.executable, "-c", SERVERS, ADDRESS_B, str(TCP_PORT)]
        proc = subprocess.Popen([*command, str(DNS_PORT)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline() == "ready\n"
        return proc

    def probe(self):
        options = {
            "targets": [{"host": ADDRESS_B, "port": TCP_PORT, "name": "b"}],
            "timeout": TIMEOUT,
            "dns": {"server": ADDRESS_B, "name": "example.org", "port": DNS_PORT},
        }
        command = ["ip", "netns", "exec", self.a, sys.executable, "-c", PROBE, json.dumps(options)]
        env = dict(os.environ, PYTHONPATH=str(COLLECTIONS_PATH))
        out = subprocess.run(command, check=True, capture_output=True, text=True, env=env, timeout=DEFAULT_TIMEOUT)
        return json.loads(out.stdout)


@pytest.fixture
def namespaces():
    if os.geteuid() != 0:
        skip_or_fail("network namespaces, veth pairs and OUTPUT rules need root")
    require_binaries("ip", "iptables", "iptables-save")
    spaces = Namespaces()
    servers = None
    try:
        try:
            spaces.create()
        except subprocess.CalledProcessError as exc:
            skip_or_fail("cannot create network namespaces here: %s" % exc.stderr.decode(errors="replace").strip())
        servers = spaces.servers()
        yield spaces
    finally:
        if servers is not None:
            servers.kill()
            servers.wait()
        spaces.delete()


def test_probe_matches_route_and_drop_rule(namespaces):
    result = namespaces.probe()
    (probe,) = result["probes"]
    assert probe == dict(probe, address=ADDRESS_B, connected=True, source=ADDRESS_A, error=None)
    assert result["dns"] == dict(result["dns"], answered=True, error=None)
    assert result["policy"]["error"] is None and result["policy"]["output_policy"] == "accept"
    assert result["policy"]["output_rules"] == 0

    rule = ["-d", ADDRESS_B, "-p", "tcp", "--dport", str(TCP_PORT), "-j", "DROP"]
    run("ip", "netns", "exec", namespaces.a, "iptables", "-A", "OUTPUT", *rule)
    result = namespaces.probe()
    (probe,) = result["probes"]
    assert (probe["connected"], probe["source"], probe["error"]) == (False, None, "timed out")
    assert TIMEOUT <= probe["seconds"] < TIMEOUT + 1
    assert result["dns"]["answered"] is True  # the rule drops TCP to the port only
    assert result["policy"]["output_rules"] == 1
    evidence = result["policy"]["evidence"]
    if result["policy"]["tool"] == "iptables":
        assert "ip: -A OUTPUT -d %s/32 -p tcp -m tcp --dport %d -j DROP" % (ADDRESS_B, TCP_PORT) in evidence
    else:  # nft lists the rule iptables-nft made, as JSON
        assert ADDRESS_B in evidence and '"right": %d' % TCP_PORT in evidence and '"drop": null' in evidence

    run("ip", "netns", "exec", namespaces.a, "iptables", "-D", "OUTPUT", *rule)
    run("ip", "-n", namespaces.a, "route", "del", "10.98.0.0/%d" % PREFIX, "dev", namespaces.veth_a)
    result = namespaces.probe()
    (probe,) = result["probes"]
    assert (probe["connected"], probe["error"]) == (False, "Network is unreachable (ENETUNREACH)")
    assert result["dns"] == dict(result["dns"], answered=False, error="Network is unreachable (ENETUNREACH)")
    assert result["policy"]["output_rules"] == 0
