"""Smoke tests of the sshd fleet harness: real sshd servers, real ssh, real ansible-playbook and ansible-runner."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
from harness import environment, processes, syslog
from harness.environment import require_binaries
from harness.fleet import UNREACHABLE_HOST_NAME
from harness.playbooks import run_adhoc, run_playbook, run_with_ansible_runner
from harness.processes import descendants
from harness.results import parse_recap
from harness.sshd import probe_ssh_banner

ACCEPTED_ROOT_KEY = r"Accepted publickey for root from 127\.0\.0\.1 port \d+ ssh2"

# Every host: run a command over SSH, read the host's own fixture tree, check it is this host's.
IDENTITY_PLAY = {
    "name": "harness smoke",
    "hosts": "all",
    "gather_facts": False,
    "tasks": [
        {"name": "run a command", "ansible.builtin.command": "hostname", "changed_when": False},
        {
            "name": "stat the fixture root",
            "ansible.builtin.stat": {"path": "{{ fleetwatch_root }}/etc/hostname"},
            "register": "marker",
        },
        {
            "name": "read the marker",
            "ansible.builtin.slurp": {"src": "{{ fleetwatch_root }}/etc/hostname"},
            "register": "content",
        },
        {
            "name": "this host audits its own tree",
            "ansible.builtin.assert": {
                "that": [
                    "marker.stat.exists",
                    "(content.content | b64decode | trim) == inventory_hostname",
                ],
            },
        },
    ],
}


def _clean(recap_counts: dict) -> bool:
    return recap_counts["unreachable"] == 0 and recap_counts["failed"] == 0


def test_fleet_hosts_are_distinct_and_answer_ssh(ssh_fleet):
    assert len(ssh_fleet) >= 2
    assert ssh_fleet.names == [f"fw-host-{i}" for i in range(1, len(ssh_fleet) + 1)]
    assert len({host.address for host in ssh_fleet}) == len(ssh_fleet)
    assert ssh_fleet[0].address == "127.0.0.11"
    assert ssh_fleet["fw-host-2"] is ssh_fleet[1]
    known_hosts = ssh_fleet.known_hosts_path.read_text(encoding="utf-8").splitlines()
    for host in ssh_fleet:
        assert host.running
        assert host.fixture_root.is_dir()
        assert (host.fixture_root / "etc" / "hostname").read_text(encoding="utf-8").strip() == host.name
        assert probe_ssh_banner(host.address, host.port).startswith("SSH-2.0-OpenSSH")
        assert f"[{host.address}]:{host.port} ssh-ed25519 " in "\n".join(known_hosts)
    assert len({host.host_public_key for host in ssh_fleet}) == len(ssh_fleet), "each host has its own host key"


def test_plain_ssh_with_strict_host_key_checking(running_fleet):
    host = running_fleet[0]
    mark = host.log_offset()
    result = subprocess.run(
        host.ssh_argv("cat", str(host.fixture_root / "etc" / "hostname")),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == host.name
    host.wait_for_log(ACCEPTED_ROOT_KEY, since=mark)


def test_playbook_reaches_every_host_over_ssh(running_fleet, fleet_inventory, tmp_path):
    marks = {host.name: host.log_offset() for host in running_fleet}
    result = run_playbook([IDENTITY_PLAY], fleet_inventory, private_data_dir=tmp_path / "run")
    assert result.returncode == 0, result.describe()
    assert sorted(result.recap) == sorted(running_fleet.names), result.describe()
    for host in running_fleet:
        counts = result.recap[host.name]
        assert counts["ok"] == len(IDENTITY_PLAY["tasks"]), result.describe()
        assert _clean(counts), result.describe()
        # Each host was really reached through its own sshd (the source address is the loopback's 127.0.0.1).
        host.wait_for_log(ACCEPTED_ROOT_KEY, since=marks[host.name])


def test_adhoc_ping_reaches_every_host(running_fleet, fleet_inventory, tmp_path):
    result = run_adhoc("fleet", fleet_inventory, "ansible.builtin.ping", private_data_dir=tmp_path / "adhoc")
    assert result.returncode == 0, result.describe()
    assert result.statuses == dict.fromkeys(running_fleet.names, "SUCCESS"), result.describe()


def test_stopped_host_is_unreachable_and_restart_works(running_fleet, tmp_path):
    inventory = running_fleet.write_inventory(tmp_path / "inventory.yml", unreachable=True)
    down = running_fleet["fw-host-2"]
    down.stop()
    assert not down.running
    assert probe_ssh_banner(down.address, down.port) is None

    result = run_playbook([IDENTITY_PLAY], inventory, private_data_dir=tmp_path / "down")
    assert result.returncode == 4, result.describe()  # ansible-playbook: some hosts unreachable
    assert result.hosts_with("unreachable") == sorted([down.name, UNREACHABLE_HOST_NAME]), result.describe()
    for host in running_fleet:
        if host is not down:
            assert result.recap[host.name]["ok"] == len(IDENTITY_PLAY["tasks"]), result.describe()
            assert _clean(result.recap[host.name]), result.describe()

    mark = down.log_offset()
    down.start()
    assert down.running
    result = run_playbook([IDENTITY_PLAY], inventory, limit=down.name, private_data_dir=tmp_path / "up")
    assert result.returncode == 0, result.describe()
    assert list(result.recap) == [down.name], result.describe()
    assert result.recap[down.name]["ok"] == len(IDENTITY_PLAY["tasks"]), result.describe()
    assert _clean(result.recap[down.name]), result.describe()
    down.wait_for_log(ACCEPTED_ROOT_KEY, since=mark)


def test_wrong_host_key_is_rejected(running_fleet, tmp_path):
    """The inventory's strict host key checking wins over host_key_checking=False in config and environment."""
    host = running_fleet[0]
    other = running_fleet[1]
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[{host.address}]:{host.port} {other.host_public_key}\n", encoding="utf-8")
    inventory = running_fleet.write_inventory(tmp_path / "inventory.yml", hosts=[host], known_hosts=known_hosts)
    result = run_playbook(
        [IDENTITY_PLAY], inventory, env={"ANSIBLE_HOST_KEY_CHECKING": "False"}, private_data_dir=tmp_path / "run"
    )
    assert result.recap[host.name]["unreachable"] == 1, result.describe()
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in result.stdout + result.stderr, result.describe()


def test_ansible_runner_runs_the_playbook(running_fleet, fleet_inventory, tmp_path):
    result = run_with_ansible_runner(
        [IDENTITY_PLAY], fleet_inventory, extra_vars={"probe": "runner"}, private_data_dir=tmp_path / "runner"
    )
    assert result.status == "successful", result.describe()
    assert result.rc == 0, result.describe()
    assert sorted(result.stats["processed"]) == sorted(running_fleet.names), result.describe()
    for name in running_fleet.names:
        assert result.recap[name]["ok"] == len(IDENTITY_PLAY["tasks"]), result.describe()
        assert _clean(result.recap[name]), result.describe()
    ok_hosts = {event["event_data"].get("host") for event in result.events if event.get("event") == "runner_on_ok"}
    assert ok_hosts == set(running_fleet.names)
    assert any(event.get("event") == "playbook_on_stats" for event in result.events)
    (command_file,) = (tmp_path / "runner" / "artifacts").glob("*/command")
    command = json.loads(command_file.read_text(encoding="utf-8"))
    assert command["command"][0] == "ansible-playbook"
    assert command["env"]["PATH"].split(os.pathsep)[0] == str(environment.VENV_BIN)  # the venv's ansible


def test_wrong_password_is_refused_and_logged(running_fleet):
    require_binaries("sshpass")
    host = running_fleet[0]
    mark = host.log_offset()
    result = subprocess.run(
        host.password_login_argv("wrong", "true"), capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode != 0, result  # ssh gives up after its one password prompt (255)
    line = host.wait_for_log(r"Failed password for root from (\S+) port \d+ ssh2", since=mark)
    assert line.group(1) == "127.0.0.1"
    assert not re.search(ACCEPTED_ROOT_KEY, host.log_text(since=mark))


def test_missing_binary_skips_locally_and_fails_in_ci(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(environment, "SYSTEM_BIN_DIRS", ())
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="install the Debian package openssh-server"):
        require_binaries("sshd")
    with pytest.raises(pytest.skip.Exception, match="sshpass"):
        require_binaries("sshpass")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"openssh-server.*CI is set"):
        require_binaries("sshd")


def test_recap_parser():
    stdout = (
        "PLAY RECAP *********\n"
        "fw-host-1                  : ok=3    changed=1    unreachable=0    failed=0    skipped=2    rescued=0"
        "    ignored=0   \n"
        "fw-unreachable             : ok=0    changed=0    unreachable=1    failed=0    skipped=0    rescued=0"
        "    ignored=0   \n\n"
    )
    recap = parse_recap(stdout)
    assert recap["fw-host-1"] == {
        "ok": 3,
        "changed": 1,
        "unreachable": 0,
        "failed": 0,
        "skipped": 2,
        "rescued": 0,
        "ignored": 0,
    }
    assert recap["fw-unreachable"]["unreachable"] == 1


def test_private_fleet_teardown_leaves_no_process(fleet_factory, tmp_path):
    fleet = fleet_factory(n=2)
    host = fleet[0]
    # A live session with a running command below the sshd: it must not survive the teardown.
    client = subprocess.Popen(
        host.ssh_argv("sleep 300"), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        processes.wait_for(
            lambda: any(processes.cmdline(pid) == "sleep 300" for pid in descendants(host.pid)),
            "the remote command to run below the sshd",
        )
        servers = [h.pid for h in fleet]
        below = [pid for h in fleet for pid in descendants(h.pid)]
        fleet.close()
        processes.wait_for(lambda: client.poll() is not None, "the ssh client to see its connection closed")
        for pid in servers + below:
            assert not processes.alive(pid), f"pid {pid} ({processes.cmdline(pid)}) survived the fleet"
        assert all(not h.running for h in fleet)
    finally:
        if client.poll() is None:
            client.kill()
        client.wait(timeout=60)


def test_syslog_option_writes_real_syslog_lines(fleet_factory):
    existed = os.path.lexists(syslog.SYSLOG_SOCKET)
    fleet = fleet_factory(n=2, syslog=True)
    if not fleet.syslog_active:
        pytest.skip(fleet.syslog_unavailable_reason)
    first, second = fleet[0], fleet[1]
    assert first.log_path == fleet.auth_log_path
    mark = first.log_offset()
    result = subprocess.run(first.ssh_argv("true"), capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    match = first.wait_for_log(r"^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ sshd\[\d+\]: " + ACCEPTED_ROOT_KEY, since=mark)
    assert match
    assert not re.search(ACCEPTED_ROOT_KEY, second.log_text(since=mark)), "lines are attributed to their host"
    fleet.close()
    assert os.path.lexists(syslog.SYSLOG_SOCKET) == existed
