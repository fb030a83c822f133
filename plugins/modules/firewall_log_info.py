#!/usr/bin/python
# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: firewall_log_info
short_description: Aggregate the netfilter log lines of a host into flows - who talks to whom, when
version_added: 0.1.0
description:
  - Reads the kernel's netfilter log lines (iptables C(LOG), nftables C(log), ufw) from the host's logs and returns
    them aggregated into flows by direction, source, destination, protocol, destination port, ICMP type, log prefix
    and interfaces, each with its count, connection attempts, first and last time and a histogram by hour of day;
    totals for the DNS and SMTP ports; and every address inside O(internal_networks) that was seen. It never
    changes anything; the judgement (SSH between internal machines, SMTP from a host that is not a relay, traffic
    in quiet hours, unknown internal addresses) is made on the controller by the C(firewall_log) check.
  - B(Sources.) By default the systemd journal's kernel entries (C(_TRANSPORT=kernel)) when the journal has files,
    and the files C(/var/log/kern.log), C(/var/log/ufw.log), C(/var/log/messages) and C(/var/log/syslog) that exist,
    with their rotations. When both the journal and files are read, the files are read only up to the journal's
    first entry, so that a line logged to both is counted once. O(sources) replaces this list.
  - B(Lines.) Any log prefix (ufw's C([UFW BLOCK]), C([UFW ALLOW]), C([UFW AUDIT]) give RV(flows[].action)), with
    or without the kernel's C([uptime]) stamp and the C(kernel:) tag; C(IN), C(OUT), C(PHYSIN), C(PHYSOUT), C(MAC),
    C(SRC), C(DST), the IPv4 and IPv6 header fields, C(PROTO) (names and numbers), C(SPT), C(DPT), C(SEQ)/C(ACK),
    the TCP flags, ICMP and ICMPv6 C(TYPE)/C(CODE). Addresses are normalised (IPv6 compressed, the zero-padded form
    too). A line the kernel or syslog cut short keeps what it has; a line that says C(IN=... OUT=...) but cannot be
    read is counted in RV(totals.malformed) with a sample, never fatal. The collection's
    C(docs/modules/firewall_log_info.md) lists every form.
  - B(Bounded.) Flows from an internal source, or to an internal destination unless they come in from outside, are
    always listed; inbound noise from external sources and flows between external addresses beyond the
    O(top_external) busiest are unlisted - counted in RV(totals), RV(ports) and RV(addresses) only, never lost. A
    flow unlisted while reading (more than 30,000 distinct flows) stays unlisted, so that every listed count is
    exact.
  - B(Speed.) Files are searched in blocks by one regular expression and counted with C-level idioms.
author: fleetwatch developers (@fleetwatch)
extends_documentation_fragment:
  - fleetwatch.audit.root
  - fleetwatch.audit.log_sources
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only reads; it runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: linux
options:
  internal_networks:
    description:
      - Networks (CIDR) whose addresses are internal - flows from them (or to them, unless they come in from
        outside) are never unlisted, and they are listed in RV(addresses).
    type: list
    elements: str
    default: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, 127.0.0.0/8, "::1/128", "fc00::/7", "fe80::/10"]
  top_external:
    description:
      - Flows from external sources (inbound noise) and between external addresses listed one by one (the
        busiest); the others are unlisted, counted in RV(totals), RV(ports) and RV(addresses) only.
    type: int
    default: 200
  prefixes:
    description:
      - The log prefixes to keep (compared without leading and trailing spaces, for example V([UFW BLOCK]) or
        V(FW-OUT)); by default every netfilter line.
    type: list
    elements: str
notes:
  - Run it with C(become) to read logs only root can read; a source that cannot be read is reported with its error.
  - A prefix is the rule's text, chosen by whoever wrote the rules; it is returned in the escaped text form of the
    collection and never moves the fields after it (the kernel's C(IN=... OUT=...) is the last of the line).
seealso:
  - module: fleetwatch.audit.sshd_auth_info
  - module: fleetwatch.audit.log_rate_info
"""

EXAMPLES = r"""
- name: Flows of the last eight days
  fleetwatch.audit.firewall_log_info:
  become: true
  register: firewall_log

- name: Outgoing SMTP
  ansible.builtin.debug:
    msg: "{{ firewall_log.flows | selectattr('direction', 'equalto', 'out') | selectattr('dport', 'in', smtp) | list }}"
  vars:
    smtp: [25, 465, 587]

- name: Only ufw's blocked packets of the ufw log, a month, Berlin time
  fleetwatch.audit.firewall_log_info:
    sources:
      - path: /var/log/ufw.log
    prefixes: ["[UFW BLOCK]"]
    since: 30d
    timezone: Europe/Berlin
  become: true
"""

RETURN = r"""
root:
  description: The root the logs were read under.
  returned: always
  type: str
  sample: /
timezone:
  description: The zone of the hour-of-day histograms and of timestamps without an offset.
  returned: always
  type: str
  sample: Europe/Berlin
since:
  description: Start of the window (UTC, start of an hour), null for no bound.
  returned: always
  type: str
  sample: "2026-11-26T02:00:00Z"
until:
  description: End of the window (UTC, exclusive), null for no bound.
  returned: always
  type: str
  sample: null
collected_at:
  description: When the logs were read (UTC).
  returned: always
  type: str
  sample: "2026-12-04T02:25:05Z"
discovered:
  description: True when the sources come from the default discovery, false when from O(sources).
  returned: always
  type: bool
  sample: true
internal_networks:
  description: The internal networks used (normalised CIDR).
  returned: always
  type: list
  elements: str
  sample: ["10.0.0.0/8", "127.0.0.0/8"]
flows:
  description: The listed flows, sorted by direction, source, destination, protocol, destination port and prefix.
  returned: always
  type: list
  elements: dict
  contains:
    direction:
      description: V(in) (C(IN) set, C(OUT) empty), V(out) (C(OUT) set, C(IN) empty), V(forward) (both), V(local)
        (neither).
      type: str
      sample: out
    src:
      description: The source address (normalised).
      type: str
      sample: 10.0.0.5
    dst:
      description: The destination address (normalised).
      type: str
      sample: 198.51.100.7
    proto:
      description: The upper-case protocol name (V(TCP), V(UDP), V(ICMP), V(ICMPV6), V(SCTP), ...) or its number.
      type: str
      sample: TCP
    dport:
      description: The destination port; null for protocols without ports (ICMP) or a line cut before it.
      type: int
      sample: 25
    icmp_type:
      description: The ICMP or ICMPv6 type, else null.
      type: int
      sample: null
    prefix:
      description: The log prefix as logged (ufw - V([UFW BLOCK] )), "" when none.
      type: str
      sample: "FW-OUT "
    action:
      description: V(block), V(allow) or V(audit) for the ufw prefixes, else null.
      type: str
      sample: null
    in_iface:
      description: The input interface (C(IN=)), "" when none.
      type: str
      sample: ""
    out_iface:
      description: The output interface (C(OUT=)), "" when none.
      type: str
      sample: eth0
    count:
      description: Lines (packets logged).
      type: int
      sample: 3
    syn:
      description: Of those, TCP packets with SYN and without ACK (connection attempts).
      type: int
      sample: 3
    first_seen:
      description: The first line's time (UTC).
      type: str
      sample: "2026-12-03T01:02:03Z"
    last_seen:
      description: The last line's time (UTC).
      type: str
      sample: "2026-12-03T01:09:00Z"
    hours:
      description: 24 counts - lines per hour of day in RV(timezone).
      type: list
      elements: int
      sample: [0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
ports:
  description:
    - Destination-port totals over all flows, listed or not, for DNS and SMTP - every key of V(53), V(853), V(25),
      V(465) and V(587) present, zeros when none - each with C(count) (lines), C(flows), C(first_seen) and
      C(last_seen).
  returned: always
  type: dict
  sample: {"53": {"count": 120, "flows": 4, "first_seen": "2026-12-03T01:00:00Z", "last_seen": "2026-12-03T09:00:00Z"}}
addresses:
  description: Every address inside O(internal_networks) seen as source or destination, sorted by address.
  returned: always
  type: list
  elements: dict
  contains:
    address:
      description: The address (normalised).
      type: str
      sample: 10.0.0.9
    count:
      description: Lines with it as source or destination.
      type: int
      sample: 7
    first_seen:
      description: Its first line's time (UTC).
      type: str
      sample: "2026-12-03T01:02:03Z"
    last_seen:
      description: Its last line's time (UTC).
      type: str
      sample: "2026-12-03T01:09:00Z"
    as_src:
      description: Lines with it as source.
      type: int
      sample: 5
    as_dst:
      description: Lines with it as destination.
      type: int
      sample: 2
totals:
  description: Counts over all sources.
  returned: always
  type: dict
  contains:
    lines:
      description: Lines read in the window.
      type: int
      sample: 1000000
    netfilter_lines:
      description: Lines recognised as netfilter log lines (parsed or malformed) and kept by O(prefixes).
      type: int
      sample: 8000
    malformed:
      description: Netfilter lines that could not be parsed.
      type: int
      sample: 2
    flows:
      description: Distinct flows in all (listed and unlisted).
      type: int
      sample: 40
    unlisted_flows:
      description: External flows beyond O(top_external), counted here only.
      type: int
      sample: 10
    unlisted_events:
      description: Their lines.
      type: int
      sample: 900
malformed_samples:
  description: At most 10 malformed lines (the message after the timestamp), cut at 300 bytes, escaped.
  returned: always
  type: list
  elements: str
  sample: ["FW IN=eth0 OUT= SRC=10.0.0.5 DST=10."]
sources:
  description:
    - One entry per source read, in the order read - C(name), C(kind) (V(file) or V(journal)), C(path), C(lines),
      C(netfilter_lines), C(first_event), C(last_event), C(error) and, for a file source, C(files) (per file -
      C(path), C(compression), C(size), C(mtime), C(lines), C(netfilter_lines), C(outside_window), C(first_event),
      C(last_event), C(year), C(skipped), C(error)) and C(journal_cut) (the time up to which it was read, when the
      journal holds what follows).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "/var/log/kern.log", "kind": "file", "path": "/var/log/kern.log", "lines": 52311,
            "netfilter_lines": 4411, "first_event": "2026-11-26T02:00:02Z", "last_event": "2026-12-04T02:17:40Z",
            "files": [], "error": null}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleetwatch.audit.plugins.module_utils._firewall_scan import gather
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.options import LOG_SOURCE_OPTIONS
from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_parse import DEFAULT_INTERNAL_NETWORKS


def main():
    module = AnsibleModule(
        argument_spec={
            **LOG_SOURCE_OPTIONS,
            "root": {"type": "path", "default": "/"},
            "internal_networks": {"type": "list", "elements": "str", "default": list(DEFAULT_INTERNAL_NETWORKS)},
            "top_external": {"type": "int", "default": 200},
            "prefixes": {"type": "list", "elements": "str"},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        result = gather(
            sources=params["sources"],
            since=params["since"],
            until=params["until"],
            root=params["root"],
            timezone=params["timezone"],
            year=params["year"],
            internal_networks=params["internal_networks"],
            top_external=params["top_external"],
            prefixes=params["prefixes"],
        )
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
