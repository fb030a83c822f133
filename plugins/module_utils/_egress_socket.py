# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Socket helpers of ``egress_probe``'s TCP and DNS probes (private to the collection; target side, Python 3.8+)."""

from __future__ import annotations

import select
import socket
import time

from ansible_collections.fleetwatch.audit.plugins.module_utils._rootview import error_text
from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_parse import normalize_address

TIMED_OUT = "timed out"


class ProbeError(Exception):
    """Why a probe failed, in the words of the result's ``error``; ``address``: the address tried, if any."""

    address = None


def resolve(host, port, socktype):
    """``[(family, sockaddr)]`` of ``host``: the addresses of exactly what was listed, nothing else."""
    try:
        infos = socket.getaddrinfo(host, port, 0, socktype)
    except socket.gaierror as exc:
        raise ProbeError("cannot resolve %s: %s" % (host, exc.strerror)) from exc
    return [(family, sockaddr) for family, _type, _proto, _name, sockaddr in infos]


def nonblocking(family, socktype):
    """A non-blocking socket, so that every wait is bounded by the deadline, not by the kernel's own timeouts."""
    sock = socket.socket(family, socktype)
    sock.setblocking(False)
    return sock


def wait_ready(sock, events, deadline):
    """Poll ``sock`` for ``events`` until ``deadline`` (``time.monotonic``); ProbeError when it passes first."""
    poller = select.poll()
    poller.register(sock, events)
    remaining = deadline - time.monotonic()
    if remaining <= 0 or not poller.poll(remaining * 1000):
        raise ProbeError(TIMED_OUT)


def socket_error(code):
    """The error text of an errno, in the words of the other gatherers (``Connection refused (ECONNREFUSED)``)."""
    return error_text(OSError(code, None))


def address_text(sockaddr):
    """The normalised address of a socket address (IPv6 compressed, IPv4-mapped as IPv4)."""
    return normalize_address(sockaddr[0])


def seconds_since(start):
    return round(time.monotonic() - start, 3)
