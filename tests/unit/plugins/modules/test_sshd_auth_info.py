# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The module's thin main() and its documentation (parsing and counting are tested in module_utils)."""

from __future__ import annotations

import os
import time

import pytest
import yaml
from module_harness import assert_options_match, documented_options, module_kwargs, run_module

from ansible_collections.fleetwatch.audit.plugins.modules import sshd_auth_info

START = 1759276800  # 2025-10-01T00:00:00Z


def stamp(when):
    return time.strftime("%b %e %H:%M:%S", time.gmtime(when))


@pytest.fixture
def image(tmp_path):
    """An offline root: an auth.log with a failure from inside, one from outside and a login; a passwd file."""
    root = tmp_path / "root"
    (root / "var/log").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\ndeploy:x:1000:1000::/home/deploy:/bin/sh\n")
    lines = [
        f"{stamp(START)} web1 sshd[10]: Invalid user admin from 10.0.0.7 port 4000",
        f"{stamp(START + 1)} web1 sshd[10]: Failed password for invalid user admin from 10.0.0.7 port 4000 ssh2",
        f"{stamp(START + 2)} web1 sshd-session[11]: Failed password for root from 203.0.113.9 port 5000 ssh2",
        f"{stamp(START + 3)} web1 sshd-session[12]: Accepted publickey for deploy from 10.0.0.8 port 6000 ssh2: "
        "ED25519 SHA256:abc",
        "\x00 garbage",
    ]
    log = root / "var/log/auth.log"
    log.write_text("\n".join(lines) + "\n")
    os.utime(log, (START + 3600, START + 3600))
    return root


def test_main_counts_never_changed(capsys, image):
    code, result = run_module(capsys, sshd_auth_info, {"root": str(image), "since": "all", "timezone": "UTC"})
    assert code == 0 and result["changed"] is False
    assert result["discovered"] is True
    assert [(e["source"], e["user"], e["kind"], e["internal"]) for e in result["failures"]] == [
        ("10.0.0.7", "admin", "failed_password", True),
        ("10.0.0.7", "admin", "invalid_user", True),
        ("203.0.113.9", "root", "failed_password", False),
    ]
    assert result["totals"]["attempts"] == 2 and result["totals"]["internal_sources"] == 1
    assert [(a["user"], a["source"], a["fingerprint"]) for a in result["accepted"]] == [
        ("deploy", "10.0.0.8", "SHA256:abc")
    ]
    assert result["local_users"] == ["deploy", "root"]
    assert result["sources"][0]["name"] == "/var/log/auth.log"


def test_options_reach_the_gatherer(capsys, image):
    args = {
        "root": str(image),
        "since": "all",
        "timezone": "UTC",
        "sources": [{"path": "/var/log/auth.log", "rotated": False, "name": "auth"}],
        "internal_networks": ["203.0.113.0/24"],
        "top_external": 0,
    }
    code, result = run_module(capsys, sshd_auth_info, args)
    assert code == 0 and result["discovered"] is False
    assert result["internal_networks"] == ["203.0.113.0/24"]
    assert [(e["source"], e["internal"]) for e in result["failures"]] == [("203.0.113.9", True)]
    assert result["totals"]["folded_sources"] == 1 and result["sources"][0]["name"] == "auth"


def test_invalid_options_fail(capsys, image):
    for args, message in [
        ({"timezone": "Mars/Base"}, "unknown time zone 'Mars/Base'"),
        ({"since": "last week"}, "invalid time 'last week'"),
        ({"sources": [{"path": "relative/log"}]}, "must be absolute"),
        ({"internal_networks": ["10.0.0.0/99"]}, "not a CIDR network"),
        ({"max_user_length": 3}, "max_user_length"),
        ({"root": str(image / "missing")}, "is not a directory"),
    ]:
        code, result = run_module(capsys, sshd_auth_info, dict({"root": str(image)}, **args))
        assert code == 1 and result["failed"] is True
        assert message in result["msg"], result["msg"]
    code, result = run_module(capsys, sshd_auth_info, {"root": str(image), "sources": [{"path": "/a", "journal": {}}]})
    assert code == 1 and "mutually exclusive" in result["msg"]


def test_documentation_matches_argument_spec(monkeypatch):
    captured = module_kwargs(monkeypatch, sshd_auth_info)
    assert captured["supports_check_mode"] is True
    assert_options_match(documented_options(sshd_auth_info), captured["argument_spec"])
    for task in yaml.safe_load(sshd_auth_info.EXAMPLES):
        assert "fleetwatch.audit.sshd_auth_info" in task or "ansible.builtin.debug" in task


def test_every_returned_key_is_documented(capsys, image):
    _code, result = run_module(capsys, sshd_auth_info, {"root": str(image), "since": "all", "timezone": "UTC"})
    returned = yaml.safe_load(sshd_auth_info.RETURN)
    assert sorted(returned) == sorted(set(result) - {"changed", "invocation"})
    for entry in result["failures"]:
        assert set(entry) <= set(returned["failures"]["contains"])
    for entry in result["accepted"]:
        assert set(entry) == set(returned["accepted"]["contains"])
    assert set(result["totals"]) == set(returned["totals"]["contains"])
    kinds = " ".join(returned["failures"]["contains"]["kind"]["description"])
    for kind in (
        "invalid_user",
        "failed_password",
        "not_allowed",
        "root_refused",
        "too_many_failures",
        "pam_failure",
        "closed_preauth",
        "other",
    ):
        assert f"V({kind})" in kinds
