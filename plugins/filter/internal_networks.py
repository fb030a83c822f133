# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: internal_networks
short_description: The internal networks of M(fleetwatch.audit.sshd_auth_info), with every inventory host's address
version_added: 0.1.0
description:
  - Returns the networks given (or, when none are given, the module's default internal networks), followed by the
    C(ansible_host) address of every host in O(hosts) as a one-address network (C(/32) for IPv4, C(/128) for IPv6),
    without repeats, in that order.
  - Host names and values that are not an IP address are left out, since the module matches networks, not names.
  - The role C(fleetwatch.audit.collect) passes the result as the option
    O(fleetwatch.audit.sshd_auth_info#module:internal_networks), so that a fleet host's failed logins are counted as
    internal, never summarised as internet noise.
  - The addresses are read the same way as the controller side of the collection reads them for the C(sshd_auth)
    check.
author: fleetwatch developers (@fleetwatch)
positional: hosts, hostvars
options:
  _input:
    description:
      - The internal networks given (CIDR strings), or V(null) for the module's defaults (the private, shared,
        loopback and link-local ranges of IPv4 and IPv6).
    type: list
    elements: str
    required: true
  hosts:
    description: Inventory hosts whose addresses are internal, usually C(groups['all']).
    type: list
    elements: str
    required: true
  hostvars:
    description: Each host's variables, usually C(hostvars); a host without C(ansible_host) adds nothing.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Count failed and accepted SSH logins, the inventory's hosts being internal
  fleetwatch.audit.sshd_auth_info:
    internal_networks: "{{ none | fleetwatch.audit.internal_networks(groups['all'], hostvars) }}"

- name: The same with networks of one's own
  ansible.builtin.debug:
    msg: "{{ ['10.20.0.0/16'] | fleetwatch.audit.internal_networks(groups['all'], hostvars) }}"
  # with web1's ansible_host 192.0.2.10: ['10.20.0.0/16', '192.0.2.10/32']
"""

RETURN = r"""
_value:
  description: The networks, given or default, then one network per inventory host address, without repeats.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_parse import DEFAULT_INTERNAL_NETWORKS
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.addresses import host_addresses, host_networks


def internal_networks(networks, hosts, hostvars) -> list:
    """``networks`` (``None``: the module's defaults) and each host's ``ansible_host`` as a network, no repeats."""
    if isinstance(networks, str) or not (networks is None or isinstance(networks, (list, tuple))):
        raise AnsibleFilterError(
            f"internal_networks: expects a list of networks or null, not {type(networks).__name__}"
        )
    given = DEFAULT_INTERNAL_NETWORKS if networks is None else networks
    addresses = host_addresses(hosts, lambda host: hostvars[host])
    return list(dict.fromkeys([*given, *host_networks(addresses)]))


class FilterModule:
    def filters(self):
        return {"internal_networks": internal_networks}
