#!/usr/bin/python
# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: egress_probe
short_description: Try TCP connects and one DNS query to listed targets, and read the firewall's output policy
version_added: 0.1.0
description:
  - Tries a TCP connect to each of O(targets), each within O(timeout), and returns which connected and from which
    local source address; optionally sends one DNS query (O(dns)) over UDP to the listed server; and returns the
    firewall's output policy as evidence (C(nft -j list ruleset), else C(iptables-save) and C(ip6tables-save)). It
    never changes anything; the judgement (an exposed host that can reach the outside) is made on the controller by
    the C(egress) check, not here.
  - B(Only what is listed.) It never connects anywhere not listed. A target given by name is resolved with the
    system's resolver and only its addresses are tried, in turn, until one connects; the DNS query goes to the listed
    server only (the query is built by the module, not sent through the resolver). With no targets and no O(dns),
    only the policy is read.
  - B(Bounded.) Sockets are non-blocking and polled against one deadline per probe, so a target that drops packets
    costs O(timeout) at most; a connection that succeeds is closed at once, without sending anything.
  - B(Policy.) The output chains (nftables chains on the C(output) hook; the C(filter) table's C(OUTPUT) chain of
    iptables and ip6tables) with their default verdict and rules. The output policy is V(drop) only when every
    address family is dropped by default; no output chain at all means nothing filters, V(accept).
author: fleetwatch developers (@fleetwatch)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: In check mode no probe is sent (RV(probed) is false); the policy is still read.
  diff_mode:
    support: none
  platform:
    platforms: linux
options:
  targets:
    description:
      - The TCP targets to try, each once.
    type: list
    elements: dict
    default: []
    suboptions:
      host:
        description: An address or a host name (resolved; only its addresses are tried).
        type: str
        required: true
      port:
        description: The TCP port, 1 to 65535.
        type: int
        required: true
      name:
        description: A label for the target, returned in RV(probes[].name).
        type: str
  timeout:
    description:
      - Seconds each probe may take, more than 0 and at most 60.
    type: float
    default: 3.0
  dns:
    description:
      - One DNS query over UDP for the A record of O(dns.name), sent to O(dns.server) only.
    type: dict
    suboptions:
      server:
        description: The DNS server's address (or name, resolved by the system's resolver).
        type: str
        required: true
      name:
        description: The name to ask for (ASCII labels of 1 to 63 bytes).
        type: str
        required: true
      port:
        description: The server's UDP port, 1 to 65535.
        type: int
        default: 53
  read_policy:
    description:
      - Whether to read the firewall's output policy (needs C(become), since the tools need CAP_NET_ADMIN).
    type: bool
    default: true
notes:
  - Run it with C(become) to read the policy; without the privilege the policy's RV(policy.error) says why.
seealso:
  - module: fleetwatch.audit.sshd_auth_info
"""

EXAMPLES = r"""
- name: Can the exposed web server reach the package mirror, a public address and a public resolver?
  fleetwatch.audit.egress_probe:
    targets:
      - {host: mirror.example.org, port: 443, name: mirror}
      - {host: 192.0.2.80, port: 80, name: public}
    dns: {server: 198.51.100.53, name: example.org}
    timeout: 2
  become: true
  register: egress

- name: Only the output policy
  fleetwatch.audit.egress_probe:
  become: true
"""

RETURN = r"""
probes:
  description: One entry per target, in the order listed; empty in check mode.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The target's O(targets[].name), else null.
      type: str
      sample: mirror
    host:
      description: The target's host as listed.
      type: str
      sample: mirror.example.org
    port:
      description: The TCP port.
      type: int
      sample: 443
    address:
      description: The address that connected, else the last one tried; null when the name did not resolve.
      type: str
      sample: 203.0.113.10
    connected:
      description: True when a TCP connection was made.
      type: bool
      sample: false
    source:
      description: The local source address of the connection, else null.
      type: str
      sample: null
    error:
      description: >-
        Why it did not connect (C(timed out), C(Connection refused (ECONNREFUSED)),
        C(Network is unreachable (ENETUNREACH)), C(cannot resolve ...)), else null.
      type: str
      sample: timed out
    seconds:
      description: How long the probe took.
      type: float
      sample: 3.0
dns:
  description: The DNS query's result, null without O(dns) or in check mode.
  returned: always
  type: dict
  contains:
    server:
      description: The server as listed.
      type: str
      sample: 10.0.0.53
    name:
      description: The name asked for.
      type: str
      sample: example.org
    answered:
      description: True when a response with the query's id came back (whatever its answer code).
      type: bool
      sample: false
    error:
      description: Why there was no answer, else null.
      type: str
      sample: timed out
    seconds:
      description: How long the query took.
      type: float
      sample: 3.0
policy:
  description: The firewall's output policy, null when O(read_policy) is false.
  returned: always
  type: dict
  contains:
    tool:
      description: V(nft), V(iptables), or null when neither could be read.
      type: str
      sample: nft
    output_policy:
      description: V(accept), V(drop), or null when unknown - the default verdict of the output hook or chain.
      type: str
      sample: accept
    output_rules:
      description: Rules in the output chain(s), null when unknown.
      type: int
      sample: 3
    evidence:
      description:
        - The output chains and their rules as read (nft rules as JSON, packet counters left out), at most 4 KiB; a
          longer text is cut and marked.
      type: str
      sample: "ip: :OUTPUT ACCEPT\nip: -A OUTPUT -d 10.0.0.0/8 -j ACCEPT"
    error:
      description: Why the policy could not be read (or, with iptables, why ip6tables-save failed), else null.
      type: str
      sample: null
probed:
  description: True when the probes were sent, false in check mode.
  returned: always
  type: bool
  sample: true
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleetwatch.audit.plugins.module_utils._egress_probe import gather

TARGET_OPTIONS = {
    "host": {"type": "str", "required": True},
    "port": {"type": "int", "required": True},
    "name": {"type": "str"},
}
DNS_OPTIONS = {
    "server": {"type": "str", "required": True},
    "name": {"type": "str", "required": True},
    "port": {"type": "int", "default": 53},
}


def main():
    module = AnsibleModule(
        argument_spec={
            "targets": {"type": "list", "elements": "dict", "default": [], "options": TARGET_OPTIONS},
            "timeout": {"type": "float", "default": 3.0},
            "dns": {"type": "dict", "options": DNS_OPTIONS},
            "read_policy": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        result = gather(
            targets=params["targets"],
            timeout=params["timeout"],
            dns=params["dns"],
            read_policy=params["read_policy"],
            check_mode=module.check_mode,
        )
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
