# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""firewall_log_info on the kernel's own netfilter lines.

Two network namespaces joined by a veth pair (10.99.71.1 and 10.99.71.2, inside the namespaces only), an iptables
``-j LOG`` rule and an nftables ``log`` rule in the listener's namespace, ``nf_log_all_netns=1`` for the test's
duration (the old value restored after), real TCP connections from one namespace to the other, the kernel's lines
written by rsyslogd's ``imklog`` to a file; the module must count exactly the connections made (SYN lines per flow).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from pathlib import Path

import pytest
from harness.environment import require_binaries, skip_or_fail
from harness.processes import wait_for
from harness.syslog import Rsyslogd

from ansible_collections.fleetwatch.audit.plugins.module_utils._firewall_scan import gather

CLIENT_ADDR, SERVER_ADDR = "10.99.71.1", "10.99.71.2"
PORTS = {"IPT": 8471, "NFT": 8472}  # one port per rule kind, so each line is told by its prefix and port
CONNECTIONS = {8471: 3, 8472: 2}
SYSCTL = "/proc/sys/net/netfilter/nf_log_all_netns"


def run(*argv, check=True, stdin=None):
    return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=30, input=stdin)


@pytest.fixture
def namespaces():
    """``(client, server, tag)``: two fresh namespaces, removed afterwards; ``tag`` makes the prefixes unique."""
    binaries = require_binaries("ip", "iptables", "nft")
    if os.geteuid() != 0:
        skip_or_fail("network namespaces and netfilter rules need root")
    if not os.path.exists(SYSCTL):
        skip_or_fail("this kernel has no %s (nf_log_syslog not loaded?)" % SYSCTL)
    tag = secrets.token_hex(3)
    client, server = "fwc" + tag, "fws" + tag
    created = []
    try:
        for name in (client, server):
            run(binaries["ip"], "netns", "add", name)
            created.append(name)
        ip = binaries["ip"]
        run(ip, "link", "add", "vc" + tag, "netns", client, "type", "veth", "peer", "name", "vs" + tag, "netns", server)
        for name, dev, addr in ((client, "vc" + tag, CLIENT_ADDR), (server, "vs" + tag, SERVER_ADDR)):
            run(ip, "-n", name, "addr", "add", addr + "/24", "dev", dev)
            run(ip, "-n", name, "link", "set", dev, "up")
            run(ip, "-n", name, "link", "set", "lo", "up")
        run(
            ip,
            "netns",
            "exec",
            server,
            binaries["iptables"],
            "-A",
            "INPUT",
            "-p",
            "tcp",
            "--dport",
            str(PORTS["IPT"]),
            "-j",
            "LOG",
            "--log-prefix",
            "IPT%s " % tag,
        )
        rules = "table inet fwtest {\n chain input {\n  type filter hook input priority 0;\n"
        rules += '  tcp dport %d log prefix "NFT%s "\n }\n}\n' % (PORTS["NFT"], tag)
        run(ip, "netns", "exec", server, binaries["nft"], "-f", "-", stdin=rules)
        yield client, server, tag
    finally:
        for name in created:
            run("ip", "netns", "del", name, check=False)


@pytest.fixture
def kernel_log(tmp_path):
    """A file that rsyslogd's imklog writes the kernel's messages to (traditional format), ``nf_log_all_netns`` on."""
    old = Path(SYSCTL).read_text().strip()
    log = tmp_path / "root/var/log/kern.log"
    log.parent.mkdir(parents=True)
    rules = (
        'module(load="imklog")\nkern.* action(type="omfile" file="%s" template="RSYSLOG_TraditionalFileFormat")\n' % log
    )
    daemon = Rsyslogd(tmp_path / "rsyslog", rules, require_binaries("rsyslogd")["rsyslogd"])
    (tmp_path / "rsyslog").mkdir()
    try:
        Path(SYSCTL).write_text("1\n")
        daemon.start(lambda: daemon.running, "rsyslogd with imklog")
        yield log
    finally:
        daemon.stop()
        Path(SYSCTL).write_text(old + "\n")


def connect(client, port, count):
    """``count`` real TCP connections from the client namespace to a listener in the server namespace."""
    code = (
        "import socket,sys\n"
        "for _ in range(%d):\n"
        "    s = socket.create_connection(('%s', %d), timeout=5); s.close()\n" % (count, SERVER_ADDR, port)
    )
    run("ip", "netns", "exec", client, "python3", "-c", code)


def test_module_counts_exactly_the_connections_made(namespaces, kernel_log):
    client, server, tag = namespaces
    listeners = [
        subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                server,
                "python3",
                "-c",
                "import socket,time\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                "s.bind(('%s', %d)); s.listen(16)\n"
                "while True:\n    c, _ = s.accept(); c.close()\n" % (SERVER_ADDR, port),
            ]
        )
        for port in CONNECTIONS
    ]
    try:
        time.sleep(0.5)  # the listeners bind
        for port, count in CONNECTIONS.items():
            connect(client, port, count)
        expected = sum(CONNECTIONS.values())
        wait_for(
            lambda: kernel_log.exists() and kernel_log.read_bytes().count(b" SYN URGP=") >= expected,
            what="%d SYN lines in %s" % (expected, kernel_log),
        )
        time.sleep(0.5)  # the connections' later packets (ACK, FIN) are logged too
    finally:
        for listener in listeners:
            listener.kill()
            listener.wait()
    mine = ["IPT%s " % tag, "NFT%s " % tag]
    result = gather(
        sources=[{"path": "/var/log/kern.log", "rotated": False}],
        root=str(kernel_log.parents[2]),
        since="all",
        prefixes=mine,
    )
    assert result["totals"]["malformed"] == 0, result["malformed_samples"]
    syn = {(f["prefix"], f["dport"]): f["syn"] for f in result["flows"] if f["syn"]}
    assert syn == {("IPT%s " % tag, 8471): 3, ("NFT%s " % tag, 8472): 2}
    for flow in result["flows"]:
        assert (flow["direction"], flow["src"], flow["dst"], flow["proto"]) == ("in", CLIENT_ADDR, SERVER_ADDR, "TCP")
        assert flow["in_iface"] == "vs" + tag and flow["count"] >= flow["syn"]
    assert [a["address"] for a in result["addresses"]] == [CLIENT_ADDR, SERVER_ADDR]
