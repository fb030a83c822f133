from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta, timezone

from ansible_collections.fleetwatch.audit.plugins.plugin_utils.addresses import DEFAULT_INTERNAL
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.context import CheckContext
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.policy import Policy, parse_policy


def test_defaults():
    context = CheckContext()
    assert isinstance(context.policy, Policy) and context.inventory_addresses == {} and context.address_hosts == {}
    assert context.internal_networks == DEFAULT_INTERNAL
    assert context.now.tzinfo == timezone.utc


def test_policy_networks_addresses_and_moment():
    paris = timezone(timedelta(hours=1))
    policy = parse_policy({"internal_networks": ["198.51.100.0/24"]})
    context = CheckContext(policy, {"web1": ["192.0.2.10"]}, datetime(2026, 1, 2, 4, 0, tzinfo=paris))
    assert context.internal_networks == (ipaddress.ip_network("198.51.100.0/24"),)
    assert context.address_hosts == {"192.0.2.10": ["web1"]}
    assert context.now == datetime(2026, 1, 2, 3, 0, tzinfo=timezone.utc)


def test_names_host_by_name_address_and_group():
    context = CheckContext(inventory_addresses={"nas": ["10.0.0.3"]}, inventory_groups={"storage": ["nas"], "dmz": []})
    assert context.groups_of("nas") == ["storage"]
    assert context.names_host(["NAS"], "nas") and context.names_host(["10.0.0.3"], "nas")
    assert context.names_host(["storage"], "nas") and context.names_host(["all"], "nas")
    assert not context.names_host(["dmz", "10.0.0.4", "web"], "nas")
