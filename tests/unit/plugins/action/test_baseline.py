"""The baseline action plugin (plugins/action/baseline.py), run through Ansible's loader with a real Task."""

from __future__ import annotations

import os

import pytest
from ansible.errors import AnsibleActionFail
from plugin_utils_data import setuid_file, setuid_result, with_file

from ansible_collections.fleetwatch.audit.plugins.action.baseline import ARGUMENT_SPEC
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.errors import FleetwatchError, PolicyError, StoreError

DRIFT = {"setuid": with_file(setuid_result(), setuid_file("/opt/x", package=None))}


@pytest.fixture
def store(tmp_path):
    return str(tmp_path / "store")


def test_argument_spec_is_the_documented_one(doc_spec):
    assert doc_spec("baseline") == ARGUMENT_SPEC


def test_snapshot_compare_accept_and_restore(run_action, store):
    gathered = {"fleetwatch_results": {"setuid": setuid_result()}}  # what the role collect sets
    snapshot = run_action("baseline", {"state": "snapshot", "store": store}, gathered)
    assert snapshot["status"] == "snapshot" and snapshot["changed"] is False and not snapshot.get("failed")
    compare = run_action("baseline", {"state": "compare", "store": store, "data": DRIFT})
    assert compare["failed"] is True and compare["msg"].startswith("web1: 1 finding(s) at or above high")
    (finding,) = compare["findings"]
    assert (finding["rule"], finding["subject"]) == ("new_file", "/opt/x")
    accept = {"state": "accept", "store": store, "ids": [finding["id"]], "reason": "CHG-1", "who": "alice"}
    assert [f["id"] for f in run_action("baseline", accept)["findings"]] == [finding["id"]]
    again = run_action("baseline", {"state": "compare", "store": store, "data": DRIFT})
    assert again["findings"] == [] and not again.get("failed")
    restored = run_action("baseline", {"state": "restore", "store": store})
    assert restored["accepted"] == [] and restored["status"] == "restored"


def test_check_mode_writes_nothing(run_action, store):
    result = run_action("baseline", {"state": "snapshot", "store": store, "data": DRIFT}, check_mode=True)
    assert result["status"] == "snapshot" and not os.path.exists(store)


def test_the_store_comes_from_the_environment(run_action, store, monkeypatch):
    monkeypatch.setenv("FLEETWATCH_STORE", store)
    result = run_action("baseline", {"state": "snapshot", "data": DRIFT})
    assert result["baseline_path"] == os.path.join(store, "hosts", "web1.json")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({}, "missing required arguments: state"),
        ({"state": "forget"}, "value of state must be one of: snapshot, compare, accept, restore, got: forget"),
        ({"state": "compare", "fail_on": "sometimes"}, "value of fail_on must be one of: critical, high"),
        ({"state": "compare", "bogus": 1}, "Unsupported parameters for (fleetwatch.audit.baseline) module: bogus"),
        ({"state": "compare", "ids": {"a": 1}}, "argument 'ids' is of type dict and we were unable to convert to list"),
    ],
)
def test_bad_arguments_fail_the_action(run_action, args, message):
    with pytest.raises(AnsibleActionFail, match=message.replace("(", r"\(").replace(")", r"\)")):
        run_action("baseline", args)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"state": "compare"}, "no gathered data: run the role fleetwatch.audit.collect first or pass data"),
        ({"state": "accept", "ids": ["0" * 12]}, "state=accept needs a reason"),
    ],
)
def test_incomplete_requests_fail_the_action(run_action, store, args, message):
    with pytest.raises(AnsibleActionFail, match=message):
        run_action("baseline", {**args, "store": store})


def test_store_errors_fail_the_action(run_action, store):
    os.makedirs(os.path.join(store, "hosts"))
    with open(os.path.join(store, "hosts", "web1.json"), "w") as handle:
        handle.write("{")
    with pytest.raises(AnsibleActionFail, match=r"corrupt store file .*web1.json") as failure:
        run_action("baseline", {"state": "compare", "store": store, "data": DRIFT})
    assert isinstance(failure.value.__cause__, StoreError)


def test_policy_errors_fail_the_action(run_action, store, tmp_path):
    policy = tmp_path / "policy.yml"
    policy.write_text("fail_on: sometimes\n")
    with pytest.raises(AnsibleActionFail, match=r"invalid policy .*fail_on") as failure:
        run_action("baseline", {"state": "compare", "store": store, "policy": str(policy), "data": DRIFT})
    assert isinstance(failure.value.__cause__, PolicyError)


@pytest.mark.parametrize(
    ("state", "message"),
    [("accept", "web1 has no baseline: run the snapshot playbook first"), ("restore", "no previous baseline")],
)
def test_engine_errors_fail_the_action(run_action, store, state, message):
    with pytest.raises(AnsibleActionFail, match=message) as failure:
        run_action("baseline", {"state": state, "store": store, "reason": "r", "checks": ["setuid"]})
    assert isinstance(failure.value.__cause__, FleetwatchError)
