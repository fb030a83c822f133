# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What checks and the fleet engine judge with besides the gathered data (docs/architecture.md)."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone

from ansible_collections.fleetwatch.audit.plugins.plugin_utils.addresses import DEFAULT_INTERNAL, address_hosts, normal
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.findings import as_utc
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.policy import Policy


class CheckContext:
    """The policy, every inventory host's addresses (``{host: [address]}``) and the moment of the run; the engine
    builds one per run and hands it to every check's ``diff`` and ``fleet_findings`` and to the fleet analysis."""

    def __init__(
        self,
        policy: Policy | None = None,
        inventory_addresses: Mapping[str, Iterable[str]] | None = None,
        now: datetime | None = None,
        inventory_groups: Mapping[str, Iterable[str]] | None = None,
    ):
        self.policy = policy if policy is not None else Policy()
        self.inventory_addresses = dict(inventory_addresses or {})
        self.now = as_utc(now or datetime.now(timezone.utc))
        # Which inventory host an address names, for naming login sources by host.
        self.address_hosts = address_hosts(self.inventory_addresses)
        # ``{group: [host]}`` like Ansible's ``groups``, for policy keys that name groups (quiet hours, exposed).
        self.inventory_groups = {group: list(hosts) for group, hosts in (inventory_groups or {}).items()}
        # ``{check: {host: normalised data}}`` of the whole fleet, in the fleet engine only (see for_fleet).
        self.fleet_data: dict = {}

    @property
    def internal_networks(self) -> tuple:
        """The policy's ``internal_networks``, else the gatherer's default list."""
        return tuple(self.policy.internal_networks) or DEFAULT_INTERNAL

    def for_fleet(self, fleet_data: Mapping[str, Mapping[str, dict]]) -> CheckContext:
        """A copy that also carries every check's usable data of the fleet, for fleet findings that join checks
        (firewall_log's unknown addresses read sshd_auth's login sources too)."""
        fleet = copy.copy(self)
        fleet.fleet_data = {name: dict(per_host) for name, per_host in fleet_data.items()}
        return fleet

    def host_addresses(self, host: str) -> set[str]:
        """The inventory's addresses of ``host``, normalised."""
        return {normal(str(address)) for address in self.inventory_addresses.get(host) or ()}

    def groups_of(self, host: str) -> list[str]:
        """The inventory groups ``host`` is in, sorted by name."""
        return sorted(group for group, hosts in self.inventory_groups.items() if host in hosts)

    def names_host(self, names: Iterable[str], host: str) -> bool:
        """True when ``names`` (a policy list) holds ``host``, one of its addresses, or a group it is in."""
        wanted = {normal(str(name)) for name in names}
        return bool(wanted & ({host.lower(), *self.host_addresses(host), "all", *map(str.lower, self.groups_of(host))}))
