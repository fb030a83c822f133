"""harness/processes.py: stopping a server leaves no process below it, sessions included."""

from __future__ import annotations

import subprocess

from harness import processes
from harness.processes import descendants


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
