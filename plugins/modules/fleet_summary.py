# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: fleet_summary
short_description: Compute the fleet-wide diff of a compare run from every host's results
version_added: 0.1.0
description:
  - Runs once on the controller, in the last play of a compare, and computes the fleet-wide diff with the same engine
    as the callback P(fleetwatch.audit.fleet_diff#callback), from every host's compare findings, with fleet outliers
    and coverage (hosts of the audit that returned no compare result are reported as not audited).
  - Returns a summary small enough for C(ansible.builtin.set_stats) (with C(per_host=false), which AWX turns into job
    artifacts) and fails when the fleet reaches O(fail_on), so the run's outcome says whether the fleet drifted even
    where no callback can change it.
  - Optionally writes the same JSON and Markdown reports as the callback (O(report_dir)), for runs without it.
author: fleetwatch developers (@fleetwatch)
options:
  hosts:
    description: Inventory hosts that the audit targeted (usually C(ansible_play_hosts_all) of the audit play).
    type: list
    elements: str
    required: true
  result_var:
    description: Host variable holding each host's registered M(fleetwatch.audit.baseline) compare result.
    type: str
    default: fleetwatch_compare
  gathered_var:
    description: Name of the host variable that holds each host's gathered data, used for fleet outliers.
    type: str
    default: fleetwatch_results
  policy:
    description: Policy file (YAML), the one the compare used.
    type: path
  fail_on:
    description:
      - Fail when a fleet or host finding that is not suppressed reaches this severity.
      - Defaults to the policy's C(fail_on), else V(high).
    type: str
    choices: [critical, high, medium, low, info, never]
  report_dir:
    description: When set, also write the fleet report (JSON and Markdown, and C(latest.*)) into this directory.
    type: path
notes:
  - Runs on the controller only and never connects to a host.
seealso:
  - module: fleetwatch.audit.baseline
  - plugin: fleetwatch.audit.fleet_diff
    plugin_type: callback
"""

EXAMPLES = r"""
- name: Fleet summary of the audit play
  fleetwatch.audit.fleet_summary:
    hosts: "{{ fleetwatch_audited_hosts }}"
    policy: /srv/fleetwatch/policy.yml
  register: fleet

- name: Publish it as AWX job artifacts
  ansible.builtin.set_stats:
    data:
      fleetwatch: "{{ fleet.summary }}"
    per_host: false
"""

RETURN = r"""
summary:
  description: Fleet summary, counts by severity, hosts drifting, hosts clean and hosts not audited.
  returned: always
  type: dict
fleet_findings:
  description: Findings that only the fleet view shows (coverage and outliers).
  returned: always
  type: list
  elements: dict
report_paths:
  description: Files written when O(report_dir) is set.
  returned: when report_dir is set
  type: dict
"""
