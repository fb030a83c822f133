# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The module's thin main() and its documentation (parsing and counting are tested in module_utils)."""

from __future__ import annotations

import gzip
import os

import pytest
import yaml
from module_harness import assert_options_match, documented_options, module_kwargs, run_module

from ansible_collections.fleetwatch.audit.plugins.modules import firewall_log_info

START = 1796263200  # 2026-12-03T02:00:00Z
LINES = [
    "Dec  3 02:00:01 gw kernel: [ 10.000001] FW-OUT IN= OUT=eth0 SRC=10.0.0.5 DST=198.51.100.7 LEN=60 TOS=0x00 "
    "PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40000 DPT=25 WINDOW=64240 RES=0x00 SYN URGP=0",
    "Dec  3 02:00:02 gw kernel: [UFW BLOCK] IN=eth0 OUT= MAC=00:11 SRC=203.0.113.9 DST=10.0.0.5 LEN=40 TOS=0x00 "
    "PREC=0x00 TTL=240 ID=2 PROTO=TCP SPT=5555 DPT=22 WINDOW=1024 RES=0x00 SYN URGP=0",
    "Dec  3 02:00:03 gw kernel: FW IN=eth0 OUT= SRC=10.0.",
    "Dec  3 02:00:04 gw sshd[1]: Accepted password for root from 10.0.0.1 port 1 ssh2",
]


@pytest.fixture
def image(tmp_path):
    """An offline root: a kern.log with an outgoing SMTP attempt and a blocked SSH attempt, a rotated ufw.log."""
    root = tmp_path / "root"
    (root / "var/log").mkdir(parents=True)
    log = root / "var/log/kern.log"
    log.write_text("\n".join(LINES) + "\n")
    os.utime(log, (START + 3600, START + 3600))
    rotated = root / "var/log/ufw.log.1.gz"
    rotated.write_bytes(gzip.compress(("\n".join(LINES[1:2]) + "\n").encode()))
    os.utime(rotated, (START + 3600, START + 3600))
    return root


def test_main_returns_the_flows_never_changed(capsys, image):
    code, result = run_module(capsys, firewall_log_info, {"root": str(image), "since": "all", "timezone": "UTC"})
    assert code == 0 and result["changed"] is False and result["discovered"] is True
    assert [
        (f["direction"], f["src"], f["dst"], f["dport"], f["count"], f["syn"], f["action"]) for f in result["flows"]
    ] == [
        ("in", "203.0.113.9", "10.0.0.5", 22, 2, 2, "block"),
        ("out", "10.0.0.5", "198.51.100.7", 25, 1, 1, None),
    ]
    assert result["flows"][1]["hours"][2] == 1 and result["flows"][1]["first_seen"] == "2026-12-03T02:00:01Z"
    assert result["ports"]["25"]["count"] == 1 and result["ports"]["53"]["count"] == 0
    assert [a["address"] for a in result["addresses"]] == ["10.0.0.5"]
    assert result["totals"] == {
        "lines": 5,
        "netfilter_lines": 4,
        "malformed": 1,
        "flows": 2,
        "unlisted_flows": 0,
        "unlisted_events": 0,
    }
    assert result["malformed_samples"] == ["FW IN=eth0 OUT= SRC=10.0."]
    assert [s["name"] for s in result["sources"]] == ["/var/log/kern.log", "/var/log/ufw.log"]


def test_options_reach_the_gatherer(capsys, image):
    args = {
        "root": str(image),
        "since": "all",
        "timezone": "UTC",
        "sources": [{"path": "/var/log/kern.log", "rotated": False, "name": "kern"}],
        "internal_networks": ["198.51.100.0/24"],
        "top_external": 0,
        "prefixes": ["FW-OUT"],
    }
    code, result = run_module(capsys, firewall_log_info, args)
    assert code == 0 and result["discovered"] is False
    assert [(f["prefix"], f["dst"]) for f in result["flows"]] == [("FW-OUT ", "198.51.100.7")]
    assert [a["address"] for a in result["addresses"]] == ["198.51.100.7"]
    assert result["sources"][0]["name"] == "kern"


def test_invalid_options_fail(capsys, image):
    for args, message in [
        ({"timezone": "Mars/Base"}, "unknown time zone 'Mars/Base'"),
        ({"top_external": -1}, "top_external must be 0 or more"),
        ({"internal_networks": ["10.0.0.0/33"]}, "is not a CIDR network"),
        ({"sources": [{"path": "relative.log"}]}, "must be absolute"),
    ]:
        code, result = run_module(capsys, firewall_log_info, {"root": str(image), **args})
        assert code == 1 and message in result["msg"], (args, result)


def test_documentation_matches_argument_spec(monkeypatch):
    captured = module_kwargs(monkeypatch, firewall_log_info)
    assert captured["supports_check_mode"] is True
    assert_options_match(documented_options(firewall_log_info), captured["argument_spec"])
    for task in yaml.safe_load(firewall_log_info.EXAMPLES):
        assert "fleetwatch.audit.firewall_log_info" in task or "ansible.builtin.debug" in task


def test_every_returned_key_is_documented(capsys, image):
    _code, result = run_module(capsys, firewall_log_info, {"root": str(image), "since": "all", "timezone": "UTC"})
    returned = yaml.safe_load(firewall_log_info.RETURN)
    assert sorted(returned) == sorted(set(result) - {"changed", "invocation"})
    for flow in result["flows"]:
        assert set(flow) == set(returned["flows"]["contains"])
    for entry in result["addresses"]:
        assert set(entry) == set(returned["addresses"]["contains"])
    assert set(result["totals"]) == set(returned["totals"]["contains"])
    assert sorted(result["ports"]) == sorted(["53", "853", "25", "465", "587"])
