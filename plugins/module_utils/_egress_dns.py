# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""One DNS query over UDP for ``egress_probe`` (private to the collection; target side, Python 3.8+).

A minimal standard query for an A record, built here rather than through the system resolver: the resolver would ask
the servers of resolv.conf, and the probe must ask the listed server only.
"""

from __future__ import annotations

import os
import select
import socket
import struct
import time

from ansible_collections.fleetwatch.audit.plugins.module_utils._egress_socket import (
    ProbeError,
    nonblocking,
    resolve,
    seconds_since,
    wait_ready,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._rootview import error_text

HEADER = struct.Struct("!HHHHHH")  # id, flags, questions, answers, authorities, additionals
RECURSION_DESIRED = 0x0100
RESPONSE = 0x8000
TYPE_A, CLASS_IN = 1, 1
MAX_DATAGRAM = 4096


def query(server, name, port, timeout):
    """The ``dns`` result: whether ``server`` answered a query for ``name`` within ``timeout``."""
    start = time.monotonic()
    entry = {"server": server, "name": name, "answered": False, "error": None}
    try:
        family, sockaddr = resolve(server, port, socket.SOCK_DGRAM)[0]
        ask(family, sockaddr, name, start + timeout)
    except ProbeError as exc:
        entry["error"] = str(exc)
    else:
        entry["answered"] = True
    entry["seconds"] = seconds_since(start)
    return entry


def ask(family, sockaddr, name, deadline):
    """Send one query and wait for a response with its id; ProbeError otherwise."""
    ident = struct.unpack("!H", os.urandom(2))[0]
    try:
        with nonblocking(family, socket.SOCK_DGRAM) as sock:
            # A connected UDP socket receives only the server's datagrams, and its ICMP errors (ECONNREFUSED).
            sock.connect(sockaddr)
            sock.send(build_query(ident, name))
            while not is_response(receive(sock, deadline), ident):
                pass
    except OSError as exc:
        raise ProbeError(error_text(exc)) from exc


def receive(sock, deadline):
    wait_ready(sock, select.POLLIN, deadline)
    return sock.recv(MAX_DATAGRAM)


def build_query(ident, name):
    """The bytes of a standard query (recursion desired) for the A record of ``name``."""
    return HEADER.pack(ident, RECURSION_DESIRED, 1, 0, 0, 0) + encode_name(name) + struct.pack("!HH", TYPE_A, CLASS_IN)


def encode_name(name):
    """``name`` as DNS labels; ValueError for a name DNS cannot carry."""
    labels = [label.encode("ascii") for label in name.rstrip(".").split(".")] if name.isascii() else None
    if not labels or any(not 0 < len(label) <= 63 for label in labels) or len(name.rstrip(".")) > 253:
        raise ValueError("dns.name %r is not a valid host name (ASCII labels of 1 to 63 bytes)" % name)
    return b"".join(struct.pack("!B", len(label)) + label for label in labels) + b"\0"


def is_response(datagram, ident):
    """True for a DNS response (any answer code) to the query ``ident``."""
    if len(datagram) < HEADER.size:
        return False
    got_ident, flags = struct.unpack_from("!HH", datagram)
    return got_ident == ident and bool(flags & RESPONSE)
