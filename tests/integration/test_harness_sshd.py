"""harness/sshd.py: real sshd hosts answer a real ssh client by key and by password, log it, stop and restart."""

from __future__ import annotations

import re
import subprocess

from harness.environment import require_binaries
from harness.fleet import UNREACHABLE_HOST_NAME
from harness.playbooks import run_playbook
from harness.sshd import probe_ssh_banner
from smoke_play import ACCEPTED_ROOT_KEY, IDENTITY_PLAY, ran_cleanly


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
            assert ran_cleanly(result.recap[host.name]), result.describe()

    mark = down.log_offset()
    down.start()
    assert down.running
    result = run_playbook([IDENTITY_PLAY], inventory, limit=down.name, private_data_dir=tmp_path / "up")
    assert result.returncode == 0, result.describe()
    assert list(result.recap) == [down.name], result.describe()
    assert result.recap[down.name]["ok"] == len(IDENTITY_PLAY["tasks"]), result.describe()
    assert ran_cleanly(result.recap[down.name]), result.describe()
    down.wait_for_log(ACCEPTED_ROOT_KEY, since=mark)


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
