# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The module's thin main() and its documentation (the log sources are tested in module_utils)."""

from __future__ import annotations

import calendar
import gzip
import os
import time

import pytest
import yaml
from module_harness import assert_options_match, documented_options, module_kwargs, run_module

from ansible_collections.fleetwatch.audit.plugins.modules import log_rate_info


def stamp(*fields):
    return time.strftime("%b %e %H:%M:%S", time.gmtime(calendar.timegm(fields + (0,) * (6 - len(fields))))).encode()


@pytest.fixture
def image(tmp_path):
    """An offline root: rotated syslog, an auth.log with garbage, no journal, no /etc/localtime (UTC)."""
    root = tmp_path / "root"
    logs = root / "var/log"
    logs.mkdir(parents=True)
    (root / "etc").mkdir()
    old = b"".join(stamp(2025, 9, 30, 22, m) + b" host CRON[1]: run\n" for m in range(10))
    (logs / "syslog.2.gz").write_bytes(gzip.compress(old))
    new = b"".join(stamp(2025, 10, 1, h, 5) + b" host kernel: Linux version 6.1.0 x\n" for h in (0, 1, 3))
    (logs / "syslog").write_bytes(new)
    (logs / "auth.log").write_bytes(stamp(2025, 10, 1, 1, 2) + b" host sshd[2]: Failed password\n\x00\xff junk\n")
    for name, when in (
        ("syslog.2.gz", (2025, 9, 30, 23)),
        ("syslog", (2025, 10, 1, 4)),
        ("auth.log", (2025, 10, 1, 2)),
    ):
        os.utime(logs / name, (calendar.timegm((*when, 0, 0)),) * 2)
    return root


def test_main_counts_every_discovered_source_never_changed(capsys, image):
    code, result = run_module(capsys, log_rate_info, {"root": str(image), "since": "all"})
    assert code == 0 and result["changed"] is False
    assert result["discovered"] is True and result["timezone"] == "UTC"
    by_name = {source["name"]: source for source in result["sources"]}
    assert sorted(by_name) == ["/var/log/auth.log", "/var/log/syslog"]
    syslog = by_name["/var/log/syslog"]
    assert syslog["hours"] == {"2025-09-30T22": 10, "2025-10-01T00": 1, "2025-10-01T01": 1, "2025-10-01T03": 1}
    assert [f["path"] for f in syslog["files"]] == ["/var/log/syslog.2.gz", "/var/log/syslog"]
    assert syslog["files"][0]["compression"] == "gzip"
    assert syslog["boot_count"] == 3
    auth = by_name["/var/log/auth.log"]
    assert (auth["parsed"], auth["unparsed"], auth["error"]) == (1, 1, None)


def test_sources_option_and_window(capsys, image):
    args = {
        "root": str(image),
        "sources": [{"path": "/var/log/syslog", "rotated": False, "name": "sys"}, {"path": "/var/log/none"}],
        "since": "2025-10-01T01:00:00Z",
        "until": "2025-10-01T02:00:00Z",
        "timezone": "UTC",
    }
    code, result = run_module(capsys, log_rate_info, args)
    assert code == 0
    assert result["since"] == "2025-10-01T01:00:00Z" and result["until"] == "2025-10-01T02:00:00Z"
    sys_source, missing = result["sources"]
    assert sys_source["name"] == "sys" and sys_source["hours"] == {"2025-10-01T01": 1}
    assert sys_source["outside_window"] == 2
    assert missing["error"] == "not found: /var/log/none"


def test_check_mode_is_the_same(capsys, image):
    code, result = run_module(capsys, log_rate_info, {"root": str(image), "since": "all", "_ansible_check_mode": True})
    assert code == 0 and result["changed"] is False and len(result["sources"]) == 2


def test_invalid_options_fail(capsys, image):
    for args, message in [
        ({"timezone": "Mars/Base"}, "unknown time zone 'Mars/Base'"),
        ({"since": "last week"}, "invalid time 'last week'"),
        ({"sources": [{"path": "relative/log"}]}, "must be absolute"),
        ({"sources": [{"journal": {"matches": ["--all"]}}]}, "invalid journal match"),
        ({"root": str(image / "missing")}, "is not a directory"),
    ]:
        code, result = run_module(capsys, log_rate_info, dict({"root": str(image)}, **args))
        assert code == 1 and result["failed"] is True
        assert message in result["msg"], result["msg"]
    code, result = run_module(capsys, log_rate_info, {"root": str(image), "sources": [{"path": "/a", "journal": {}}]})
    assert code == 1 and "mutually exclusive" in result["msg"]


def test_documentation_matches_argument_spec(monkeypatch):
    captured = module_kwargs(monkeypatch, log_rate_info)
    assert captured["supports_check_mode"] is True
    assert_options_match(documented_options(log_rate_info), captured["argument_spec"])
    for task in yaml.safe_load(log_rate_info.EXAMPLES):
        assert "fleetwatch.audit.log_rate_info" in task or "ansible.builtin.debug" in task


def test_every_returned_key_is_documented(capsys, image):
    _code, result = run_module(capsys, log_rate_info, {"root": str(image), "since": "all"})
    returned = yaml.safe_load(log_rate_info.RETURN)
    assert sorted(returned) == sorted(set(result) - {"changed", "invocation"})
    documented = set(returned["sources"]["contains"])
    for source in result["sources"]:
        assert set(source) <= documented, set(source) - documented
    assert documented - set(result["sources"][0]) == {"warnings", "verify"}  # journal only
