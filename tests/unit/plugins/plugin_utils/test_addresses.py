from __future__ import annotations

import ipaddress

from ansible_collections.fleetwatch.audit.plugins.plugin_utils import addresses as ad


class Host:
    def __init__(self, name, variables):
        self.name, self.vars = name, variables

    def get_name(self):
        return self.name


class Inventory:
    def __init__(self, hosts):
        self.hosts = hosts

    def get_hosts(self):
        return self.hosts


def test_inventory_addresses_take_each_hosts_own_literal_ansible_host():
    inventory = Inventory(
        [
            Host("web1", {"ansible_host": "192.0.2.10"}),
            Host("web2", {"ansible_host": "{{ lookup('env', 'X') }}"}),  # templated: left out
            Host("db1", {}),
        ]
    )
    assert ad.inventory_addresses(inventory) == {"web1": ["192.0.2.10"]}
    assert ad.inventory_addresses(None) == {}


def test_host_addresses_from_variables():
    variables = {"web1": {"ansible_host": "192.0.2.10"}, "db1": {}}
    assert ad.host_addresses(["web1", "db1", "gone"], lambda host: variables[host]) == {"web1": ["192.0.2.10"]}


def test_host_networks_keep_addresses_as_written():
    got = ad.host_networks({"a": ["192.0.2.10"], "b": ["2001:DB8::5", "b.example.com", "fe80::1%eth0"]})
    assert got == ["192.0.2.10/32", "2001:DB8::5/128"]


def test_normal_spelling_and_address_hosts():
    assert ad.normal(" [::ffff:192.0.2.1] ") == "192.0.2.1"
    assert ad.normal("2001:DB8::5") == "2001:db8::5"
    assert ad.normal("Web1.Example.COM") == "web1.example.com"
    known = ad.address_hosts({"web2": ["10.0.0.5"], "web1": ["10.0.0.5", "Web1"], "db1": "10.0.0.9"})
    assert known == {"10.0.0.5": ["web1", "web2"], "web1": ["web1"], "10.0.0.9": ["db1"]}


def test_is_internal_by_network_or_inventory():
    known = ad.address_hosts({"web1": ["192.0.2.10"]})
    networks = (ipaddress.ip_network("10.0.0.0/8"),)
    assert ad.is_internal("10.1.2.3", networks, known)
    assert ad.is_internal("192.0.2.10", networks, known)
    assert not ad.is_internal("198.51.100.1", networks, known)
    assert not ad.is_internal("not-an-address", networks, known)
    assert ad.is_internal("fe80::1%eth0", ad.DEFAULT_INTERNAL, {})
