# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The module's thin main() and its documentation (the probes and the policy are tested in module_utils)."""

from __future__ import annotations

import pytest
import yaml
from module_harness import assert_options_match, module_kwargs, run_module

from ansible_collections.fleetwatch.audit.plugins.module_utils import _egress_probe
from ansible_collections.fleetwatch.audit.plugins.modules import egress_probe

POLICY = {"tool": "nft", "output_policy": "drop", "output_rules": 0, "evidence": "", "error": None}


@pytest.fixture(autouse=True)
def fixed_policy(monkeypatch):
    """The policy of this machine is not the tests' business (module_utils tests read it from texts)."""
    monkeypatch.setattr(_egress_probe, "read_firewall", lambda: dict(POLICY))


def test_probes_never_changed(capsys, listener):
    code, result = run_module(capsys, egress_probe, {"targets": [{"host": "127.0.0.1", "port": listener}]})
    assert code == 0 and result["changed"] is False and result["probed"] is True
    assert [(p["connected"], p["source"], p["name"]) for p in result["probes"]] == [(True, "127.0.0.1", None)]
    assert result["dns"] is None and result["policy"] == POLICY


def test_check_mode_runs_no_probe(capsys, monkeypatch, listener):
    monkeypatch.setattr(_egress_probe, "probe_tcp", pytest.fail)
    monkeypatch.setattr(_egress_probe, "query", pytest.fail)
    args = {
        "targets": [{"host": "127.0.0.1", "port": listener}],
        "dns": {"server": "127.0.0.1", "name": "example.org"},
        "_ansible_check_mode": True,
    }
    code, result = run_module(capsys, egress_probe, args)
    assert code == 0 and result["changed"] is False
    assert (result["probed"], result["probes"], result["dns"], result["policy"]) == (False, [], None, POLICY)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"targets": [{"host": "127.0.0.1", "port": 70000}]}, "targets[0]: port must be 1 to 65535, got 70000"),
        ({"targets": [{"host": "127.0.0.1", "port": -1}]}, "port must be 1 to 65535"),
        ({"targets": [{"port": 22}]}, "missing required arguments: host"),
        ({"targets": [{"host": "127.0.0.1", "port": 22, "proto": "udp"}]}, "proto"),
        ({"timeout": 0}, "timeout must be more than 0"),
        ({"timeout": 61}, "at most 60 seconds"),
        ({"dns": {"server": "127.0.0.1", "name": "example.org", "port": 0}}, "dns: port must be 1 to 65535"),
        ({"dns": {"server": "127.0.0.1"}}, "missing required arguments: name"),
        ({"dns": {"server": "127.0.0.1", "name": "bad..name"}}, "not a valid host name"),
    ],
)
def test_invalid_options_fail_clearly(capsys, args, message):
    code, result = run_module(capsys, egress_probe, args)
    assert code == 1 and result["failed"] is True
    assert message in result["msg"], result["msg"]


def test_documentation_matches_argument_spec(monkeypatch):
    captured = module_kwargs(monkeypatch, egress_probe)
    assert captured["supports_check_mode"] is True
    doc = yaml.safe_load(egress_probe.DOCUMENTATION)
    assert doc["author"] == "fleetwatch developers (@fleetwatch)"
    assert_options_match(doc["options"], captured["argument_spec"])
    for where, suboptions in (("targets", egress_probe.TARGET_OPTIONS), ("dns", egress_probe.DNS_OPTIONS)):
        for name, option in doc["options"][where]["suboptions"].items():
            assert option.get("required", False) == suboptions[name].get("required", False), (where, name)
    for task in yaml.safe_load(egress_probe.EXAMPLES):
        assert "fleetwatch.audit.egress_probe" in task


def test_every_returned_key_is_documented(capsys, listener):
    args = {"targets": [{"host": "127.0.0.1", "port": listener, "name": "here"}], "timeout": 1}
    args["dns"] = {"server": "127.0.0.1", "name": "example.org", "port": listener}
    _code, result = run_module(capsys, egress_probe, args)
    returned = yaml.safe_load(egress_probe.RETURN)
    assert sorted(returned) == sorted(set(result) - {"changed", "invocation"})
    for key in ("dns", "policy"):
        assert set(result[key]) == set(returned[key]["contains"]), key
    assert set(result["probes"][0]) == set(returned["probes"]["contains"])
