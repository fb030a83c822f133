"""harness/playbooks.py: the real ansible-playbook, ansible (ad-hoc) and ansible-runner reach every host over SSH."""

from __future__ import annotations

import json
import os

from harness import environment
from harness.playbooks import run_adhoc, run_playbook, run_with_ansible_runner
from smoke_play import ACCEPTED_ROOT_KEY, IDENTITY_PLAY, ran_cleanly


def test_playbook_reaches_every_host_over_ssh(running_fleet, fleet_inventory, tmp_path):
    marks = {host.name: host.log_offset() for host in running_fleet}
    result = run_playbook([IDENTITY_PLAY], fleet_inventory, private_data_dir=tmp_path / "run")
    assert result.returncode == 0, result.describe()
    assert sorted(result.recap) == sorted(running_fleet.names), result.describe()
    for host in running_fleet:
        counts = result.recap[host.name]
        assert counts["ok"] == len(IDENTITY_PLAY["tasks"]), result.describe()
        assert ran_cleanly(counts), result.describe()
        # Each host was really reached through its own sshd (the source address is the loopback's 127.0.0.1).
        host.wait_for_log(ACCEPTED_ROOT_KEY, since=marks[host.name])


def test_adhoc_ping_reaches_every_host(running_fleet, fleet_inventory, tmp_path):
    result = run_adhoc("fleet", fleet_inventory, "ansible.builtin.ping", private_data_dir=tmp_path / "adhoc")
    assert result.returncode == 0, result.describe()
    assert result.statuses == dict.fromkeys(running_fleet.names, "SUCCESS"), result.describe()


def test_ansible_runner_runs_the_playbook(running_fleet, fleet_inventory, tmp_path):
    result = run_with_ansible_runner(
        [IDENTITY_PLAY], fleet_inventory, extra_vars={"probe": "runner"}, private_data_dir=tmp_path / "runner"
    )
    assert result.status == "successful", result.describe()
    assert result.rc == 0, result.describe()
    assert sorted(result.stats["processed"]) == sorted(running_fleet.names), result.describe()
    for name in running_fleet.names:
        assert result.recap[name]["ok"] == len(IDENTITY_PLAY["tasks"]), result.describe()
        assert ran_cleanly(result.recap[name]), result.describe()
    ok_hosts = {event["event_data"].get("host") for event in result.events if event.get("event") == "runner_on_ok"}
    assert ok_hosts == set(running_fleet.names)
    assert any(event.get("event") == "playbook_on_stats" for event in result.events)
    (command_file,) = (tmp_path / "runner" / "artifacts").glob("*/command")
    command = json.loads(command_file.read_text(encoding="utf-8"))
    assert command["command"][0] == "ansible-playbook"
    assert command["env"]["PATH"].split(os.pathsep)[0] == str(environment.VENV_BIN)  # the venv's ansible
