"""What the plugin tests share: running the real ansible-playbook against this machine (local connection)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

_BIN = os.path.dirname(sys.executable)


@pytest.fixture
def ansible_playbook(tmp_path):
    """``run(playbook, inventory, *args, env={})``: ansible-playbook with a configuration of its own (the project's
    ansible.cfg enables the fleet_diff callback, which would write reports), returning the completed process."""
    config = tmp_path / "ansible.cfg"
    config.write_text("[defaults]\ninterpreter_python = auto_silent\nretry_files_enabled = False\nnocows = True\n")

    def run(playbook, inventory, *args, env=None):
        environment = {**os.environ, "ANSIBLE_CONFIG": str(config), "ANSIBLE_NOCOLOR": "1", **(env or {})}
        command = [os.path.join(_BIN, "ansible-playbook"), "-i", str(inventory), *args, str(playbook)]
        return subprocess.run(command, capture_output=True, text=True, env=environment, cwd=tmp_path, check=False)

    return run


@pytest.fixture
def listener():
    """The port of a TCP listener on 127.0.0.1 that never accepts (the kernel completes the handshakes)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]
