# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: baseline
short_description: Snapshot a host's gathered audit data, or compare it with the known-good baseline
version_added: 0.1.0
description:
  - Runs on the controller for each host; never connects to the host.
  - O(state=snapshot) stores the data gathered by the role M(fleetwatch.audit.collect) (the fact C(fleetwatch_results))
    as the host's baseline. The previous baseline is kept in the store's history.
  - O(state=compare) loads the host's baseline, diffs the gathered data against it, applies the policy and returns the
    findings. The host fails when a finding that is not suppressed reaches O(fail_on), so C(ansible-playbook)'s recap
    and AWX show which hosts drifted. A host with no baseline gets a C(coverage) finding, never a crash.
  - O(state=accept) absorbs findings of the host's latest compare into its baseline, recording who accepted them, why
    and when. The baseline before the accept stays in the history.
  - O(state=restore) makes a previous baseline of the host current again, by default the latest one in the history,
    which undoes the last accept or snapshot. The baseline it replaces goes to the history too.
  - Judgement lives in the collection's plugin_utils; see the collection's C(docs/findings.md) for every rule.
author: fleetwatch developers (@fleetwatch)
options:
  state:
    description: What to do for this host.
    type: str
    choices: [snapshot, compare, accept, restore]
    required: true
  version:
    description:
      - With O(state=restore), the history version to restore (a UTC stamp such as C(20261127T004013.123456Z), as
        listed in RV(history)). Defaults to the latest, the baseline before the last change.
    type: str
  data:
    description:
      - Gathered data, a mapping of check name to the result of its gatherer module
        (C(setuid) for M(fleetwatch.audit.setuid_info)).
      - Defaults to the host fact C(fleetwatch_results) that the role M(fleetwatch.audit.collect) sets.
    type: dict
  store:
    description:
      - Directory of the baseline store on the controller.
      - Defaults to the environment variable E(FLEETWATCH_STORE), else C(~/.fleetwatch/store).
    type: path
  policy:
    description:
      - Path of a policy file (YAML) with severity overrides, allow rules and check settings.
      - See the collection's C(docs/policy.md).
    type: path
  fail_on:
    description:
      - With O(state=compare), fail the host when a finding that is not suppressed has this severity or a higher one.
      - V(never) reports findings without failing.
      - Defaults to the policy's C(fail_on), else V(high).
    type: str
    choices: [critical, high, medium, low, info, never]
  on_missing:
    description:
      - With O(state=compare), what to do for a host that has no baseline yet.
      - V(finding) reports a C(coverage) finding; V(snapshot) takes the snapshot instead (first run of C(make audit)).
    type: str
    choices: [finding, snapshot]
    default: finding
  ids:
    description: With O(state=accept), the ids of the findings to accept. Ids not found on this host are ignored.
    type: list
    elements: str
    default: []
  checks:
    description: With O(state=accept), accept every finding of these checks (for example V(setuid)).
    type: list
    elements: str
    default: []
  reason:
    description: With O(state=accept), why the findings are accepted. Required for an accept.
    type: str
  who:
    description: With O(state=accept), who accepts. Defaults to the controller user.
    type: str
notes:
  - Runs on the controller only; supports check mode (nothing is written to the store in check mode).
seealso:
  - module: fleetwatch.audit.setuid_info
  - plugin: fleetwatch.audit.fleet_diff
    plugin_type: callback
"""

EXAMPLES = r"""
- name: Take the known-good snapshot
  fleetwatch.audit.baseline:
    state: snapshot
    store: /srv/fleetwatch/store

- name: Compare with the baseline, fail on high findings
  fleetwatch.audit.baseline:
    state: compare
    store: /srv/fleetwatch/store
    policy: /srv/fleetwatch/policy.yml
    fail_on: high
  register: fleetwatch_compare

- name: Undo the last accept or snapshot
  fleetwatch.audit.baseline:
    state: restore
    store: /srv/fleetwatch/store

- name: Accept a reviewed change
  fleetwatch.audit.baseline:
    state: accept
    store: /srv/fleetwatch/store
    ids: [3f2a9c1d0b7e]
    reason: "CHG-1234: new ping binary from vendor"
"""

RETURN = r"""
host:
  description: The inventory host name.
  returned: always
  type: str
status:
  description: C(snapshot), C(compared), C(no_baseline), C(accepted) or C(restored).
  returned: always
  type: str
findings:
  description: Findings of a compare (see C(docs/findings.md)); with O(state=accept), the findings accepted.
  returned: when state is compare or accept
  type: list
  elements: dict
counts:
  description: Number of findings that are not suppressed, by severity.
  returned: when state is compare
  type: dict
worst_severity:
  description: Highest severity of a finding that is not suppressed, or null.
  returned: when state is compare
  type: str
fail_on:
  description: The threshold in force.
  returned: when state is compare
  type: str
baseline_path:
  description: File of the host's baseline in the store.
  returned: when state is snapshot, accept, restore, or compare with on_missing=snapshot
  type: str
restored:
  description: The history version that was made current again.
  returned: when state is restore
  type: str
history:
  description: The host's history versions before the restore, oldest first.
  returned: when state is restore
  type: list
  elements: str
accepted:
  description: The accept records of the restored baseline (who accepted what, why and when).
  returned: when state is restore
  type: list
  elements: dict
"""
