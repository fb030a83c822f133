# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Inventory addresses: each inventory host's ``ansible_host``, which host an address names, and which login
sources are internal (docs/architecture.md, "Inventory addresses")."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping

from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_parse import DEFAULT_INTERNAL_NETWORKS

DEFAULT_INTERNAL = tuple(ipaddress.ip_network(net) for net in DEFAULT_INTERNAL_NETWORKS)  # the gatherer's

_INVENTORY_ADDRESSES: dict = {}


def inventory_addresses(inventory) -> dict:
    """``{host: [address]}`` of an Ansible inventory's hosts from their own ``ansible_host`` variable (computed once
    per inventory object; a templated value is left out)."""
    if inventory is None:
        return {}
    key = id(inventory)
    got = _INVENTORY_ADDRESSES.get(key)
    if got is None or got[0] is not inventory:
        addresses = {}
        try:
            hosts = inventory.get_hosts()
        except Exception:  # an inventory this version does not know: no addresses
            hosts = []
        for host in hosts:
            value = (getattr(host, "vars", None) or {}).get("ansible_host")
            if isinstance(value, str) and value and "{{" not in value:
                addresses[host.get_name()] = [str.__str__(value)]
        _INVENTORY_ADDRESSES.clear()
        got = _INVENTORY_ADDRESSES[key] = (inventory, addresses)
    return dict(got[1])


def host_addresses(hosts: Iterable[str], variables: Callable[[str], Mapping]) -> dict:
    """``{host: [address]}`` from each host's ``ansible_host`` (when set), ``variables(host)`` giving its variables."""
    out = {}
    for host in hosts:
        try:
            address = (variables(host) or {}).get("ansible_host")
        except Exception:  # an unresolvable variable: no address for this host
            address = None
        if address:
            out[host] = [str(address)]
    return out


def host_networks(addresses: Mapping[str, Iterable[str]]) -> list[str]:
    """Each IP address of ``{host: [address]}`` as a one-address network (``/32``, ``/128``), as written, in order;
    names and malformed addresses are left out."""
    networks = []
    for values in addresses.values():
        for text in values:
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                continue
            if "%" not in text:  # a scoped IPv6 address names an interface, not a network
                networks.append(f"{text}/{address.max_prefixlen}")
    return networks


def normal(text: str) -> str:
    """An address in one spelling (IPv4-mapped IPv6 as IPv4, brackets dropped), a name in lower case."""
    text = text.strip()
    try:
        address = ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return text.lower()
    if address.version == 6 and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def address_hosts(addresses: Mapping) -> dict:
    """``{normalised address: [host, ...]}`` from ``{host: [address, ...]}`` (names kept as given, lower case)."""
    out: dict = {}
    for host, values in sorted(addresses.items()):
        for value in [values] if isinstance(values, str) else values or ():
            text = normal(str(value))
            if text and host not in out.setdefault(text, []):
                out[text].append(host)
    return out


def is_internal(source: str, networks: Iterable, known: Mapping) -> bool:
    """An address in the internal networks, or an address (or name) of an inventory host (``known``: see
    :func:`address_hosts`)."""
    if normal(source) in known:
        return True
    try:
        address = ipaddress.ip_address(source.partition("%")[0])
    except ValueError:
        return False
    return any(address.version == net.version and address in net for net in networks)
