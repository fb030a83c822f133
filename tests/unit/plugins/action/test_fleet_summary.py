"""The fleet_summary action plugin (plugins/action/fleet_summary.py): as Ansible's task executor runs it, and in a
real two-play run with the baseline action."""

from __future__ import annotations

import json
import os

import pytest
from ansible.errors import AnsibleActionFail
from plugin_utils_data import setuid_result

from ansible_collections.fleetwatch.audit.plugins.action.fleet_summary import ARGUMENT_SPEC
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.errors import PolicyError, StoreError

HOSTVARS = {"web1": {"fleetwatch_results": {"setuid": setuid_result()}}, "web2": {}}


def summary(run_action, **args):
    return run_action("fleet_summary", {"hosts": ["web1", "web2"], **args}, {"hostvars": HOSTVARS, "groups": {}})


def test_argument_spec_is_the_documented_one(doc_spec):
    assert doc_spec("fleet_summary") == ARGUMENT_SPEC


def test_silent_hosts_fail_the_fleet(run_action):
    result = summary(run_action)
    assert result["failed"] is True and result["changed"] is False
    assert result["summary"]["not_audited"] == ["web1", "web2"]  # gathered data without a compare is no audit
    assert result["msg"].startswith("the fleet reaches fail_on high: 2 high finding(s) not suppressed")
    assert {(f["host"], f["rule"]) for f in result["fleet_findings"]} == {
        ("web1", "not_audited"),
        ("web2", "not_audited"),
    }
    assert not summary(run_action, fail_on="never").get("failed")


def test_bad_arguments_fail_the_action(run_action):
    with pytest.raises(AnsibleActionFail, match="missing required arguments: hosts"):
        run_action("fleet_summary", {}, {"hostvars": {}})
    with pytest.raises(AnsibleActionFail, match="value of fail_on must be one of"):
        summary(run_action, fail_on="sometimes")


def test_policy_errors_fail_the_action(run_action, tmp_path):
    policy = tmp_path / "policy.yml"
    policy.write_text("fleet: {outlier_min_hosts: many}\n")
    with pytest.raises(AnsibleActionFail, match="invalid policy") as failure:
        summary(run_action, policy=str(policy))
    assert isinstance(failure.value.__cause__, PolicyError)


def test_store_errors_fail_the_action(run_action, tmp_path):
    taken = tmp_path / "reports"
    taken.write_text("not a directory")
    with pytest.raises(AnsibleActionFail, match="a file of that name exists") as failure:
        summary(run_action, report_dir=str(taken), fail_on="never")
    assert isinstance(failure.value.__cause__, StoreError)


def test_a_real_compare_run(tmp_path, ansible_playbook):
    """The compare playbook's shape: baseline per host, then fleet_summary over hostvars as Ansible gives them."""
    inventory = tmp_path / "inventory.yml"
    hosts = {name: {"ansible_connection": "local", "ansible_host": address} for name, address in
             (("web1", "10.0.0.1"), ("web2", "10.0.0.2"), ("web3", "10.0.0.3"))}  # fmt: skip
    inventory.write_text(json.dumps({"all": {"hosts": hosts}}))
    store, reports, out = tmp_path / "store", tmp_path / "reports", tmp_path / "fleet.json"
    playbook = tmp_path / "compare.yml"
    plays = [
        {
            "hosts": "web1:web2",
            "gather_facts": False,
            "tasks": [
                {
                    "fleetwatch.audit.baseline": {
                        "state": "compare",
                        "store": str(store),
                        "on_missing": "snapshot",
                        "data": {"setuid": setuid_result()},
                    },
                    "register": "fleetwatch_compare",
                }
            ],
        },
        {
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "fleetwatch.audit.fleet_summary": {
                        "hosts": ["web1", "web2", "web3"],
                        "report_dir": str(reports),
                        "fail_on": "never",
                    },
                    "register": "fleet",
                },
                {"ansible.builtin.copy": {"content": "{{ fleet | to_json }}", "dest": str(out), "mode": "0600"}},
            ],
        },
    ]
    playbook.write_text(json.dumps(plays))
    run = ansible_playbook(playbook, inventory)
    assert run.returncode == 0, run.stdout + run.stderr
    fleet = json.loads(out.read_text())
    assert fleet["summary"]["baselined"] == ["web1", "web2"] and fleet["summary"]["not_audited"] == ["web3"]
    assert [(f["host"], f["rule"]) for f in fleet["fleet_findings"]] == [("web3", "not_audited")]
    assert sorted(os.listdir(store / "hosts")) == ["web1.json", "web2.json"]
    assert os.path.exists(fleet["report_paths"]["latest_markdown"])
