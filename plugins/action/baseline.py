# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

# Controller side of fleetwatch.audit.baseline; its documentation is in plugins/modules/baseline.py.
import getpass
import os
from datetime import datetime, timezone

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.fleetwatch.audit.plugins.plugin_utils import engine
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.addresses import inventory_addresses
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.findings import FAIL_ON_CHOICES

ARGUMENT_SPEC = {
    "state": {"type": "str", "required": True, "choices": ["snapshot", "compare", "accept", "restore"]},
    "version": {"type": "str"},
    "data": {"type": "dict"},
    "store": {"type": "path"},
    "policy": {"type": "path"},
    "fail_on": {"type": "str", "choices": list(FAIL_ON_CHOICES)},
    "on_missing": {"type": "str", "choices": ["finding", "snapshot"], "default": "finding"},
    "ids": {"type": "list", "elements": "str", "default": []},
    "checks": {"type": "list", "elements": "str", "default": []},
    "reason": {"type": "str"},
    "who": {"type": "str"},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        host = task_vars.get("inventory_hostname") or self._task.get_host()
        store_dir = args["store"] or os.environ.get("FLEETWATCH_STORE") or os.path.expanduser("~/.fleetwatch/store")
        write = not self._task.check_mode
        try:
            # The inventory's host addresses are internal for the checks that judge sources (sshd_auth).
            addresses = inventory_addresses(getattr(task_vars.get("hostvars"), "_inventory", None))
            session = engine.HostSession(
                host,
                store_dir,
                policy_path=args["policy"],
                now=datetime.now(timezone.utc),
                inventory_addresses=addresses,
                inventory_groups=task_vars.get("groups") or {},
            )
            if args["state"] == "restore":
                outcome = session.restore(version=args["version"], write=write)
            elif args["state"] == "accept":
                if not args["reason"]:
                    raise AnsibleActionFail("state=accept needs a reason")
                outcome = session.accept(
                    ids=args["ids"],
                    checks=args["checks"],
                    reason=args["reason"],
                    who=args["who"] or _user(),
                    write=write,
                )
            else:
                data = args["data"] if args["data"] is not None else task_vars.get("fleetwatch_results")
                if data is None:
                    raise AnsibleActionFail(
                        "no gathered data: run the role fleetwatch.audit.collect first or pass data"
                    )
                if args["state"] == "snapshot":
                    outcome = session.snapshot(data, write=write)
                else:
                    outcome = session.compare(
                        data, fail_on=args["fail_on"], snapshot_if_missing=args["on_missing"] == "snapshot", write=write
                    )
        except engine.EngineError as exc:
            raise AnsibleActionFail(str(exc)) from exc
        result.update(outcome)
        result["changed"] = False
        if outcome.get("fail"):
            result["failed"] = True
            result["msg"] = outcome["fail"]
        return result


def _user():
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"
