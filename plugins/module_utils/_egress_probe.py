# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Who can get out: TCP connects to listed targets, one DNS query, the output policy, for ``egress_probe``
(private to the collection; target side, Python 3.8+).

Only what the user listed is ever contacted: each target's own addresses, the listed DNS server. Each probe is bounded
by the timeout (non-blocking sockets polled against one deadline), so an unreachable target costs the timeout at most.
"""

from __future__ import annotations

import errno
import select
import socket
import time

from ansible_collections.fleetwatch.audit.plugins.module_utils._egress_dns import encode_name, query
from ansible_collections.fleetwatch.audit.plugins.module_utils._egress_policy import read_policy as read_firewall
from ansible_collections.fleetwatch.audit.plugins.module_utils._egress_socket import (
    ProbeError,
    address_text,
    nonblocking,
    resolve,
    seconds_since,
    socket_error,
    wait_ready,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._rootview import error_text

MAX_TIMEOUT = 60.0


def gather(targets, timeout, dns=None, read_policy=True, check_mode=False):
    """The module's result; ValueError for invalid options. Check mode probes nothing and still reads the policy."""
    check_options(targets, timeout, dns)
    probed = not check_mode
    return {
        "probes": [probe_tcp(t["host"], t["port"], timeout, t.get("name")) for t in targets] if probed else [],
        "dns": query(dns["server"], dns["name"], dns.get("port", 53), timeout) if dns and probed else None,
        "policy": read_firewall() if read_policy else None,
        "probed": probed,
    }


def check_options(targets, timeout, dns):
    if not 0 < timeout <= MAX_TIMEOUT:
        raise ValueError("timeout must be more than 0 and at most %g seconds, got %g" % (MAX_TIMEOUT, timeout))
    ports = [("targets[%d]" % index, target["port"]) for index, target in enumerate(targets)]
    if dns:
        encode_name(dns["name"])
        ports.append(("dns", dns.get("port", 53)))
    for where, port in ports:
        if not 1 <= port <= 65535:
            raise ValueError("%s: port must be 1 to 65535, got %d" % (where, port))


def probe_tcp(host, port, timeout, name=None):
    """One target's entry: its addresses tried in turn until one connects, all within ``timeout``."""
    start = time.monotonic()
    entry = {"name": name, "host": host, "port": port, "address": None, "connected": False, "source": None}
    try:
        entry["address"], entry["source"] = first_connection(resolve(host, port, socket.SOCK_STREAM), start + timeout)
    except ProbeError as exc:
        entry["address"], entry["error"] = exc.address, str(exc)
    else:
        entry["connected"], entry["error"] = True, None
    entry["seconds"] = seconds_since(start)
    return entry


def first_connection(addresses, deadline):
    """``(address, source)`` of the first of ``addresses`` that connects; else the last one's ProbeError."""
    for family, sockaddr in addresses:
        address = address_text(sockaddr)
        try:
            return address, connect(family, sockaddr, deadline)
        except ProbeError as exc:
            exc.address = address
            failure = exc
    raise failure


def connect(family, sockaddr, deadline):
    """The local source address of a TCP connection to ``sockaddr`` made before ``deadline``, closed at once."""
    try:
        with nonblocking(family, socket.SOCK_STREAM) as sock:
            code = sock.connect_ex(sockaddr)
            if code in (errno.EINPROGRESS, errno.EAGAIN):
                wait_ready(sock, select.POLLOUT, deadline)
                code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                raise ProbeError(socket_error(code))
            return address_text(sock.getsockname())
    except OSError as exc:
        raise ProbeError(error_text(exc)) from exc
