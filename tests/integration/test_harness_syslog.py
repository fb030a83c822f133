"""harness/syslog.py: with ``syslog=True`` sshd logs real syslog lines through the private rsyslogd on /dev/log."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from harness import syslog
from smoke_play import ACCEPTED_ROOT_KEY


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
