# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: fleet_diff
type: aggregate
short_description: Aggregate every host's audit into one fleet-wide diff and report
version_added: 0.1.0
description:
  - Collects, for every host of the run, the results of the collection's gatherer modules
    (M(fleetwatch.audit.setuid_info), ...) and of M(fleetwatch.audit.baseline) compares, in any playbook that uses them.
  - At the end of the run it computes the fleet-wide diff with the same engine as the compare playbook's last play, adds
    what no single host can see (fleet outliers, hosts of the play that were not audited), writes the fleet report as
    JSON and Markdown into O(report_dir), refreshes C(latest.json) and C(latest.md) there, and prints a short summary.
  - A callback cannot change a run's outcome; the compare playbook's last play fails the run when the fleet reaches
    its C(fail_on). An error inside this callback is shown as a warning and never breaks the run.
author: fleetwatch developers (@fleetwatch)
requirements:
  - Enable it with C(callbacks_enabled = fleetwatch.audit.fleet_diff) in the C([defaults]) section of C(ansible.cfg)
    (AWX reads the project's C(ansible.cfg)), or E(ANSIBLE_CALLBACKS_ENABLED).
options:
  report_dir:
    description: Directory the fleet reports are written to (created with owner-only permissions).
    type: path
    default: ~/.fleetwatch/reports
    env:
      - name: FLEETWATCH_REPORT_DIR
    ini:
      - section: fleetwatch
        key: report_dir
  policy:
    description: Policy file (YAML) applied to fleet findings; the same file the compare uses.
    type: path
    env:
      - name: FLEETWATCH_POLICY
    ini:
      - section: fleetwatch
        key: policy
  fail_on:
    description:
      - Severity from which the summary says the fleet fails, or V(never).
      - Defaults to the policy's C(fail_on), else V(high).
    type: str
    choices: [critical, high, medium, low, info, never]
    env:
      - name: FLEETWATCH_FAIL_ON
    ini:
      - section: fleetwatch
        key: fail_on
  show_summary:
    description: Print the fleet summary at the end of the run.
    type: bool
    default: true
    env:
      - name: FLEETWATCH_SHOW_SUMMARY
    ini:
      - section: fleetwatch
        key: show_summary
"""

import traceback
from datetime import datetime, timezone

from ansible.plugins.callback import CallbackBase

from ansible_collections.fleetwatch.audit.plugins.plugin_utils import engine
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.addresses import inventory_addresses


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "fleetwatch.audit.fleet_diff"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super().__init__(display=display)
        self._play_hosts = []
        self._audit_play = False
        self._host_groups = {}
        self._inventory_addresses = {}
        self._inventory_groups = {}
        self._expected = []
        # (host, task uuid) -> (kind, payload): keyed by task and host so strategy free and serial keep every result.
        self._results = {}

    def _guard(self, method, *args):
        try:
            method(*args)
        except Exception as exc:  # a reporting failure must never break the audit run itself
            self._display.warning(f"fleetwatch.audit.fleet_diff: {exc!r}; the fleet report may be incomplete")
            self._display.vvv(traceback.format_exc())

    def v2_playbook_on_play_start(self, play):
        self._guard(self._play_start, play)

    def _play_start(self, play):
        inventory = play.get_variable_manager()._inventory
        hosts = inventory.get_hosts(play.hosts, order=play.order)
        self._play_hosts = [h.get_name() for h in hosts]
        self._inventory_addresses = inventory_addresses(inventory)
        groups = {name: [h.get_name() for h in group.get_hosts()] for name, group in inventory.groups.items()}
        self._inventory_groups = groups
        for host in self._play_hosts:
            self._host_groups[host] = engine.host_group(host, groups)
        self._audit_play = False

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._guard(self._task_start, task)

    def _task_start(self, task):
        # Hosts of a play that runs the collection's tasks are expected to report; silence from one is a finding.
        if not self._audit_play and engine.is_audit_action(_action(task)):
            self._audit_play = True
            self._expected.extend(h for h in self._play_hosts if h not in self._expected)

    def _record(self, outcome, result):
        host = result._host.get_name()
        action = _action(result._task)
        payload = result._result
        if not engine.is_audit_action(action):
            payload = {"msg": payload.get("msg")}  # other tasks only explain why a host went silent
        self._results[(host, result._task._uuid)] = (outcome, action, dict(payload))

    def v2_runner_on_ok(self, result):
        self._guard(self._record, "ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._guard(self._record, "failed", result)

    def v2_runner_on_unreachable(self, result):
        self._guard(self._record, "unreachable", result)

    def v2_runner_on_skipped(self, result):
        self._guard(self._record, "skipped", result)

    def v2_playbook_on_stats(self, stats):
        self._guard(self._finish)

    def _finish(self):
        if not self._expected and not self._results:
            return
        observations = engine.Observations()
        for (host, _uuid), (outcome, action, payload) in self._results.items():
            observations.add(host, outcome, action, payload)
        report = engine.fleet_report(
            observations,
            expected_hosts=self._expected,
            host_groups=self._host_groups,
            policy_path=self.get_option("policy"),
            fail_on=self.get_option("fail_on"),
            now=datetime.now(timezone.utc),
            inventory_addresses=self._inventory_addresses,
            inventory_groups=self._inventory_groups,
        )
        paths = engine.write_fleet_reports(report, self.get_option("report_dir"))
        if self.get_option("show_summary"):
            self._display.banner("FLEETWATCH FLEET DIFF")
            self._display.display(engine.terminal_summary(report, paths))


def _action(task):
    return getattr(task, "resolved_action", None) or task.action
