"""harness/fleet.py: the fleet's hosts are distinct, and its inventory checks their host keys strictly."""

from __future__ import annotations

from harness.playbooks import run_playbook
from harness.sshd import probe_ssh_banner
from smoke_play import IDENTITY_PLAY


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
