"""sshd_auth_info and the sshd_auth check against a real sshd logging through a real rsyslogd.

Two sshd hosts on loopback (harness.fleet, syslog=True): every sshd line goes through a private rsyslogd into one
real auth.log, which fw-host-1's audited tree links as its /var/log/auth.log (fw-host-2 audits an empty one). From
fw-host-2's address (ssh -o BindAddress=127.0.0.12) the test makes real attempts against fw-host-1: an unknown user
that only probes, three wrong root passwords, a wrong password for an unknown user, a key sshd refuses, and one
successful key login as ``nobody``. The module must count exactly those; a compare against the snapshot taken
before them must raise the failures from inside (critical for the unknown users) and the new login edge.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from harness.environment import PROJECT_ANSIBLE_CFG, require_binaries, skip_or_fail
from harness.fleet import start_fleet
from harness.playbooks import run_playbook
from harness.sshd import keygen

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
SOURCE = "127.0.0.12"  # fw-host-2's address: the attempts come "from" that fleet host
PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
SSHD_AUTH = {"since": "all", "sources": [{"path": "/var/log/auth.log", "rotated": False}]}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    require_binaries("sshpass", "rsyslogd")
    # sshd reads authorized_keys as the user logging in: ``nobody`` needs a copy it can read (pytest's temporary
    # directories are root's only).
    keys_dir = Path(tempfile.mkdtemp(prefix="fw-sshd-auth-keys-"))
    keys_dir.chmod(0o755)
    keys = keys_dir / "authorized_keys"
    fleet = start_fleet(
        tmp_path_factory.mktemp("sshd-auth-fleet"), n=2, syslog=True, sshd_options={"AuthorizedKeysFile": str(keys)}
    )
    try:
        keys.write_text(fleet.authorized_keys_path.read_text())
        keys.chmod(0o644)
        if not fleet.syslog_active:
            skip_or_fail(f"no private rsyslogd: {fleet.syslog_unavailable_reason}")
        target, other = fleet[0], fleet[1]
        for host in fleet:
            host.write_file("etc/passwd", PASSWD)
        log = target.fixture_root / "var/log/auth.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        os.link(fleet.auth_log_path, log)  # the same inode rsyslogd writes to
        other.write_file("var/log/auth.log", "")
        yield fleet
    finally:
        fleet.close()
        shutil.rmtree(keys_dir, ignore_errors=True)


class Run:
    def __init__(self, fleet, base: Path):
        self.fleet = fleet
        self.base = base
        self.store = base / "store"
        self.reports = base / "reports"
        self.inventory = fleet.write_inventory(base / "inventory.yml", groups={"fleet": fleet.names})

    def play(self, name: str, **more):
        variables = {
            "fleetwatch_store": str(self.store),
            "fleetwatch_become": False,
            "fleetwatch_checks": ["sshd_auth"],
            "fleetwatch_sshd_auth": SSHD_AUTH,
            **more,
        }
        env = {"ANSIBLE_PIPELINING": "True", "FLEETWATCH_REPORT_DIR": str(self.reports)}
        return run_playbook(
            PLAYBOOKS / name, self.inventory, extra_vars=variables, env=env, ansible_config=PROJECT_ANSIBLE_CFG
        )

    def module(self, host):
        """The module's result on ``host``, run over real SSH, saved on the controller."""
        out = self.base / f"module-{host}.json"
        play = {
            "hosts": host,
            "gather_facts": False,
            "tasks": [
                {
                    "fleetwatch.audit.sshd_auth_info": {"root": "{{ fleetwatch_root }}", **SSHD_AUTH},
                    "register": "result",
                },
                {
                    "ansible.builtin.copy": {"content": "{{ result | to_json }}", "dest": str(out)},
                    "delegate_to": "localhost",
                },
            ],
        }
        ran = run_playbook([play], self.inventory, env={"ANSIBLE_PIPELINING": "True"})
        assert ran.returncode == 0, ran.describe()
        return json.loads(out.read_text())


def ssh(host, *options, user="root", key=False, password=None):
    """A real ssh from fw-host-2's address to ``host`` running ``true`` (by ``password`` only, if given); returns
    its exit code."""
    options = ("-o", f"BindAddress={SOURCE}", *options)
    if password is None:
        argv = host.ssh_argv("true", user=user, options=options, key=key)
    else:
        argv = host.password_login_argv(password, "true", user=user, options=options)
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False).returncode


NO_KEYS = ("-o", "PubkeyAuthentication=no", "-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no")


@pytest.fixture(scope="module")
def scenario(fleet, tmp_path_factory):
    run = Run(fleet, tmp_path_factory.mktemp("sshd-auth-run"))
    snapshot = run.play("snapshot.yml")
    assert snapshot.returncode == 0, snapshot.describe()
    target = fleet[0]
    stranger = run.base / "stranger_key"
    keygen(fleet.binaries["ssh-keygen"], stranger, comment="stranger")
    mark = target.log_offset()
    assert ssh(target, *NO_KEYS, user="admin") != 0  # an unknown user that only probes
    for _try in range(3):
        assert ssh(target, password="wrong") != 0  # root, wrong password
    assert ssh(target, user="nosuchuser", password="wrong") != 0
    assert ssh(target, key=stranger) != 0  # a key that is in no authorized_keys
    assert ssh(target, key=fleet.user_key_path, user="nobody") in (0, 1)  # logs in (nologin then exits)
    target.wait_for_log(rf"Accepted publickey for nobody from {SOURCE}", since=mark)
    target.wait_for_log(rf"Connection closed by authenticating user root {SOURCE} port \d+ \[preauth\]", since=mark)
    run.log = target.log_text(since=mark)
    run.result = run.module(target.name)
    run.compare = run.play("compare.yml")
    run.report = json.loads((run.reports / "latest.json").read_text())
    run.markdown = (run.reports / "latest.md").read_text()
    return run


def test_module_counts_exactly_the_attempts_made(scenario):
    result = scenario.result
    mine = sorted(
        (e["user"], e["kind"], e["count"], e["invalid_user"], e["internal"])
        for e in result["failures"]
        if e["source"] == SOURCE
    )
    assert mine == [
        ("admin", "invalid_user", 1, True, True),
        ("nosuchuser", "failed_password", 1, True, True),
        ("nosuchuser", "invalid_user", 1, True, True),
        ("root", "failed_password", 3, False, True),
        ("root", "failed_publickey", 1, False, True),
    ], scenario.log
    assert {e["source"] for e in result["failures"]} == {SOURCE}, result["failures"]
    assert result["totals"]["attempts"] == 6 and result["totals"]["unparsed"] == 0
    assert result["totals"]["by_kind"] == {"failed_password": 4, "failed_publickey": 1, "invalid_user": 2}
    logins = {(a["user"], a["source"], a["method"]) for a in result["accepted"]}
    assert ("nobody", SOURCE, "publickey") in logins
    assert {a["source"] for a in result["accepted"]} <= {SOURCE, "127.0.0.1"}  # Ansible's own logins
    assert result["local_users"] == ["nobody", "root"]


def test_compare_reports_failures_from_inside_and_the_new_edge(scenario):
    assert scenario.compare.returncode != 0, scenario.compare.describe()
    findings = scenario.report["hosts"]["fw-host-1"]["findings"]
    got = sorted((f["severity"], f["subject"]) for f in findings)
    assert got == [
        ("critical", f"failed admin@{SOURCE}"),
        ("critical", f"failed nosuchuser@{SOURCE}"),
        ("high", f"failed root@{SOURCE}"),
        ("medium", f"accepted nobody@{SOURCE}"),
        ("medium", f"unknown users from {SOURCE}"),  # the fleet view: no host has admin or nosuchuser
    ], findings
    unknown = next(f for f in findings if f["subject"].startswith("unknown users"))
    assert unknown["after"]["users"] == ["admin", "nosuchuser"]
    root = next(f for f in findings if f["subject"] == f"failed root@{SOURCE}")
    assert root["after"]["source_hosts"] == ["fw-host-2"]
    assert root["after"]["kinds"] == {"failed_password": 3, "failed_publickey": 1}
    assert "fw-host-2" in root["summary"]
    assert scenario.report["hosts"]["fw-host-2"]["findings"] == []
    new = scenario.report["login_graph"]["new_edges"]
    assert [(e["from"], e["user"], e["to"]) for e in new] == [("fw-host-2", "nobody", "fw-host-1")]
    assert "## Login graph: new edges" in scenario.markdown
    assert "| fw-host-2 | 127\\.0.0.12 | nobody | fw-host-1 |" in scenario.markdown
    inventory = scenario.report["hosts"]["fw-host-1"]["inventory"]["sshd_auth"]
    assert inventory.startswith("6 failed attempts from 1 sources (1 internal)")
