# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What checks and the fleet engine judge with besides the gathered data (docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone

from ansible_collections.fleetwatch.audit.plugins.plugin_utils.addresses import DEFAULT_INTERNAL, address_hosts
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
    ):
        self.policy = policy if policy is not None else Policy()
        self.inventory_addresses = dict(inventory_addresses or {})
        self.now = as_utc(now or datetime.now(timezone.utc))
        # Which inventory host an address names, for naming login sources by host.
        self.address_hosts = address_hosts(self.inventory_addresses)

    @property
    def internal_networks(self) -> tuple:
        """The policy's ``internal_networks``, else the gatherer's default list."""
        return tuple(self.policy.internal_networks) or DEFAULT_INTERNAL
