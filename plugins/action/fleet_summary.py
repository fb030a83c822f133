# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

# Controller side of fleetwatch.audit.fleet_summary; its documentation is in plugins/modules/fleet_summary.py.
from datetime import datetime, timezone

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.fleetwatch.audit.plugins.plugin_utils import engine
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.addresses import inventory_addresses
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.findings import FAIL_ON_CHOICES

ARGUMENT_SPEC = {
    "hosts": {"type": "list", "elements": "str", "required": True},
    "result_var": {"type": "str", "default": "fleetwatch_compare"},
    "gathered_var": {"type": "str", "default": "fleetwatch_results"},
    "policy": {"type": "path"},
    "fail_on": {"type": "str", "choices": list(FAIL_ON_CHOICES)},
    "report_dir": {"type": "path"},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        hostvars = task_vars["hostvars"]
        observations = engine.Observations()
        host_groups = {}
        for host in args["hosts"]:
            host_vars = hostvars.get(host) or {}
            compare = host_vars.get(args["result_var"])
            gathered = host_vars.get(args["gathered_var"])
            if compare is not None:
                observations.add_compare(host, engine.to_plain(compare))
            if gathered is not None:
                observations.add_gathered(host, engine.to_plain(gathered))
            host_groups[host] = engine.host_group(host, task_vars.get("groups", {}))
        try:
            report = engine.fleet_report(
                observations,
                expected_hosts=args["hosts"],
                host_groups=host_groups,
                policy_path=args["policy"],
                fail_on=args["fail_on"],
                now=datetime.now(timezone.utc),
                inventory_addresses=inventory_addresses(getattr(hostvars, "_inventory", None)),
                inventory_groups=task_vars.get("groups") or {},
            )
            if args["report_dir"] and not self._task.check_mode:
                result["report_paths"] = engine.write_fleet_reports(report, args["report_dir"])
        except engine.EngineError as exc:
            raise AnsibleActionFail(str(exc)) from exc
        result["changed"] = False
        result["summary"] = report["summary"]
        result["fleet_findings"] = report["fleet_findings"]
        if report["summary"].get("fail"):
            result["failed"] = True
            result["msg"] = report["summary"]["fail"]
        return result
