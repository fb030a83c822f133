# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the ``firewall_log`` check keeps of a ``firewall_log_info`` result (/work/fw-contract.md), validated.

Results come from hosts that may be compromised: every field the check judges is checked for its type, and a
malformed result raises ``ValueError`` (reported as a gatherer error), never a crash further on.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime

from ansible_collections.fleetwatch.audit.plugins.plugin_utils.checks.base import count_value, source_errors, text_value

DIRECTIONS = ("in", "out", "forward", "local")
DNS_PORTS = ("53", "853")
SMTP_PORTS = (25, 465, 587)
SSH_PORT = 22
_HOURS = re.compile(r"^(\d{1,2})-(\d{1,2})$")
_TIME = "%Y-%m-%dT%H:%M:%SZ"


def _port(value: object, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise ValueError(f"{what} must be a port number or null: {value!r:.80}")
    return value


def _address(value: object, what: str) -> str:
    text = text_value(value, what)
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ValueError(f"{what} is not an IP address: {text!r:.80}") from None


def _hours(value: object) -> list[int]:
    if not isinstance(value, list) or len(value) != 24:
        raise ValueError(f"flow hours must be a list of 24 counts: {value!r:.80}")
    return [count_value(item, "flow hour count") for item in value]


def flow_key(flow: dict) -> str:
    """One flow's key in the baseline: direction, protocol, source, destination and port (the log prefix, action and
    interfaces of the gatherer's flows are merged: who talks to whom matters, not which rule logged it)."""
    port = "" if flow["dport"] is None else f":{flow['dport']}"
    return f"{flow['direction']} {flow['proto']} {flow['src']} -> {flow['dst']}{port}"


def _flow(entry: object) -> dict:
    if not isinstance(entry, dict):
        raise ValueError(f"flow entry is not a mapping: {entry!r:.80}")
    direction = text_value(entry.get("direction"), "flow direction")
    if direction not in DIRECTIONS:
        raise ValueError(f"flow direction must be one of {', '.join(DIRECTIONS)}: {direction!r:.80}")
    return {
        "direction": direction,
        "src": _address(entry.get("src"), "flow src"),
        "dst": _address(entry.get("dst"), "flow dst"),
        "proto": text_value(entry.get("proto"), "flow proto").upper(),
        "dport": _port(entry.get("dport"), "flow dport"),
        "count": count_value(entry.get("count"), "flow count"),
        "syn": count_value(entry.get("syn") or 0, "flow syn"),
        "first_seen": text_value(entry.get("first_seen"), "flow first_seen", allow_none=True),
        "last_seen": text_value(entry.get("last_seen"), "flow last_seen", allow_none=True),
        "hours": _hours(entry.get("hours")),
        "prefixes": [text_value(entry.get("prefix") or "", "flow prefix")],
    }


def merge_flow(into: dict, flow: dict) -> None:
    """Add ``flow``'s counts, hours, seen times and prefixes to ``into`` (same key)."""
    into["count"] += flow["count"]
    into["syn"] += flow["syn"]
    into["hours"] = [a + b for a, b in zip(into["hours"], flow["hours"])]
    firsts = [t for t in (into["first_seen"], flow["first_seen"]) if t]
    lasts = [t for t in (into["last_seen"], flow["last_seen"]) if t]
    into["first_seen"] = min(firsts, default=None)
    into["last_seen"] = max(lasts, default=None)
    into["prefixes"] = sorted({*into["prefixes"], *flow["prefixes"]})


def _flows(entries: object) -> dict:
    if not isinstance(entries, list):
        raise ValueError("no 'flows' list")
    flows: dict = {}
    for entry in entries:
        flow = _flow(entry)
        key = flow_key(flow)
        if key in flows:
            merge_flow(flows[key], flow)
        else:
            flows[key] = flow
    return flows


def _addresses(entries: object) -> dict:
    if not isinstance(entries, list):
        raise ValueError("'addresses' must be a list")
    addresses = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise ValueError(f"address entry is not a mapping: {entry!r:.80}")
        address = _address(entry.get("address"), "address")
        addresses[address] = {
            "address": address,
            "count": count_value(entry.get("count"), "address count"),
            "first_seen": text_value(entry.get("first_seen"), "address first_seen", allow_none=True),
            "last_seen": text_value(entry.get("last_seen"), "address last_seen", allow_none=True),
        }
    return addresses


def _days(since: str | None, until: str | None) -> float | None:
    try:
        seconds = (datetime.strptime(until, _TIME) - datetime.strptime(since, _TIME)).total_seconds()
    except (TypeError, ValueError):
        return None
    return seconds / 86400 if seconds > 0 else None


def _dns(ports: object, since: str | None, until: str | None) -> dict:
    """DNS queries (ports 53 and 853) over the window, and per day when the window is known."""
    if not isinstance(ports, dict):
        raise ValueError("'ports' must be a mapping of port to totals")
    count, firsts = 0, []
    for port in DNS_PORTS:
        totals = ports.get(port) or {}
        if not isinstance(totals, dict):
            raise ValueError(f"ports[{port}] must be a mapping")
        count += count_value(totals.get("count") or 0, f"ports[{port}].count")
        first = text_value(totals.get("first_seen"), f"ports[{port}].first_seen", allow_none=True)
        firsts += [first] if first else []
    days = _days(since, until)
    return {
        "count": count,
        "per_day": None if days is None else round(count / days, 3),
        "first_seen": min(firsts, default=None),
    }


def normalize_firewall_log(result: dict) -> dict:
    """The baseline's data of one ``firewall_log_info`` result; raise ``ValueError`` when it is malformed."""
    since = text_value(result.get("since"), "since", allow_none=True)
    until = text_value(result.get("until") or result.get("collected_at"), "until", allow_none=True)
    totals = result.get("totals") or {}
    if not isinstance(totals, dict):
        raise ValueError("'totals' must be a mapping")
    return {
        "collected_at": text_value(result.get("collected_at"), "collected_at", allow_none=True),
        "since": since,
        "until": until,
        "timezone": text_value(result.get("timezone"), "timezone", allow_none=True),
        "flows": _flows(result.get("flows")),
        "addresses": _addresses(result.get("addresses") or []),
        "dns": _dns(result.get("ports") or {}, since, until),
        "totals": {
            name: count_value(totals.get(name) or 0, f"totals.{name}") for name in ("netfilter_lines", "malformed")
        },
        "sources": source_errors(result),
    }


# --------------------------------------------------------------------------------------------- quiet hours


def quiet_hour_set(text: str) -> frozenset[int]:
    """The hours of day of ``"22-06"`` (22:00 up to 06:00: 22, 23, 0 … 5); ``ValueError`` when malformed."""
    match = _HOURS.match(text) if isinstance(text, str) else None
    if not match or not all(0 <= int(part) <= 24 for part in match.groups()) or match[1] == match[2]:
        raise ValueError(f"hours must be 'HH-HH' (start before end, wrapping past midnight): {text!r:.40}")
    start, end = int(match[1]) % 24, int(match[2]) % 24
    return frozenset((start + step) % 24 for step in range((end - start) % 24 or 24))


def quiet_hours_problems(value: object) -> list[str]:
    """What is wrong with a ``quiet_hours`` knob: ``{host, group or all: {hours: "HH-HH", except: [{dst, port}]}}``."""
    if not isinstance(value, dict):
        return ["must be a mapping of host or group name to {hours, except}"]
    problems = []
    for name, entry in value.items():
        if not isinstance(entry, dict) or set(entry) - {"hours", "except"} or "hours" not in entry:
            problems.append(f"{name}: must be a mapping with 'hours' and optional 'except'")
            continue
        try:
            quiet_hour_set(entry["hours"])
        except ValueError as exc:
            problems.append(f"{name}.hours: {exc}")
        exceptions = entry.get("except", [])
        for index, item in enumerate(exceptions if isinstance(exceptions, list) else [None]):
            problems.extend(f"{name}.except[{index}]: {p}" for p in _exception_problems(item))
    return problems


def _exception_problems(item: object) -> list[str]:
    if not isinstance(item, dict) or "dst" not in item or set(item) - {"dst", "port", "name"}:
        return ["must be a mapping {dst: CIDR, port: int (optional), name: text (optional)}"]
    problems = []
    try:
        ipaddress.ip_network(str(item["dst"]), strict=True)
    except ValueError as exc:
        problems.append(f"dst: not a CIDR network: {exc}")
    port = item.get("port")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 < port <= 65535):
        problems.append(f"port: not a port number: {port!r}")
    return problems


def excepted(flow: dict, exceptions: list) -> bool:
    """A flow a named exception of the quiet hours allows (its destination in ``dst``, its port ``port`` if given)."""
    address = ipaddress.ip_address(flow["dst"])
    for item in exceptions:
        network = ipaddress.ip_network(str(item["dst"]))
        port = item.get("port")
        if address.version == network.version and address in network and port in (None, flow["dport"]):
            return True
    return False
