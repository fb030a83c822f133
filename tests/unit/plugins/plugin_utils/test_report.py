from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from plugin_utils_data import NOW, setuid_file, setuid_result, with_file

from ansible_collections.fleetwatch.audit.plugins.plugin_utils import files
from ansible_collections.fleetwatch.audit.plugins.plugin_utils import report as rp
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.baselines import new_baseline
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.compare import compare_host
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.context import CheckContext
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.errors import StoreError
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.fleet import analyze_fleet

HOSTILE = "/tmp/a|b\n# <script>alert(1)</script> `x` \x1b[31mRED\x9b2J" + "A" * 4096
HOSTS = [f"web{i}" for i in range(1, 7)]


@pytest.fixture
def report():
    results = {}
    for host in HOSTS:
        gathered = {"setuid": setuid_result()}
        baseline = new_baseline(host, gathered, NOW)[0]
        if host == "web2":
            gathered = {
                "setuid": with_file(setuid_result(), setuid_file(HOSTILE, package=None, user="\x1b]0;pwned\x07"))
            }
        results[host] = {"compare": compare_host(host, baseline, gathered, CheckContext(now=NOW)), "gathered": gathered}
    problems = {"web|7": {"status": "unreachable", "msg": "no route\n| fake | row |"}}
    return analyze_fleet(results, dict.fromkeys(HOSTS, "web"), [*HOSTS, "web|7"], problems, CheckContext(now=NOW))


def test_json_is_complete_stable_and_ascii(report):
    text = rp.render_json(report)
    assert text.isascii() and "\x1b" not in text and "\x9b" not in text
    assert json.loads(text) == report
    assert rp.render_json(json.loads(text)) == text
    keys = json.loads(text, object_pairs_hook=lambda pairs: [pair[0] for pair in pairs])
    assert keys == ["fleet_findings", "generated", "groups", "hosts", "policy", "schema", "summary"]


def test_markdown_escapes_hostile_strings(report):
    md = rp.render_markdown(report)
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "\x1b" not in md and "\x9b" not in md and "\x07" not in md
    assert "\\\\x1b\\[31mRED" in md
    assert "\n# " not in md.replace("\n# fleetwatch fleet report", "")
    for line in md.splitlines():
        if line.startswith("| "):
            cells = line.replace("\\|", "").count("|")
            # the report's tables: not audited, what was audited, findings, fleet findings, summary
            header_cells = {4, 5, 9, 10, 12}
            assert cells in header_cells, line[:200]
    assert "web\\|7" in md and "no route<br>\\| fake \\| row \\|" in md
    assert HOSTILE[-4096:] in md  # the whole 4 KB path is shown, not cut


def test_markdown_structure(report):
    md = rp.render_markdown(report)
    assert md.startswith("# fleetwatch fleet report\n")
    assert "**FAIL**" in md
    assert "| 7 | 6 | 1 | 1 | 5 | 1 | 2 | 0 | 0 | 0 | 0 |" in md
    assert "### web2: drifting, worst critical (group web)" in md
    assert "Clean, no findings: web1, web3, web4, web5, web6" in md
    assert "### web1" not in md
    assert "### web\\|7: unreachable, worst high (group all)" in md
    assert "## What was audited" in md
    assert "| web1 | audited | setuid | 3 files (2 setuid, 0 setgid, 1 with capabilities;" in md


def test_terminal_says_what_was_covered(report):
    lines = rp.render_terminal(report).splitlines()
    assert "  setuid: covered on 6 hosts (what each covered: in the report)" in lines


def test_terminal_summary_is_short_and_safe(report):
    text = rp.render_terminal(report, {"markdown": "/r/fleet-x.md", "latest_markdown": "/r/latest.md"})
    lines = text.splitlines()
    assert len(lines) <= 10
    assert all(len(line) < 400 for line in lines)
    assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text
    assert lines[0] == "fleetwatch: 7 hosts, 6 audited, 1 not audited, 1 drifting, 5 clean"
    assert "worst critical; fail_on high: FAIL" in lines[1]
    assert any("\\x1b[31mRED" in line for line in lines)
    assert lines[-1] == "report: /r/fleet-x.md (latest: /r/latest.md)"


def test_terminal_limits_the_findings_listed(report):
    assert "… and 1 more findings in the report" in rp.render_terminal(report, limit=2)


def test_write_reports_atomically(report, tmp_path, monkeypatch):
    directory = tmp_path / "reports"
    paths = rp.write_reports(report, str(directory))
    assert sorted(os.listdir(directory)) == [
        "fleet-20260301T120000Z.json",
        "fleet-20260301T120000Z.md",
        "latest.json",
        "latest.md",
    ]
    assert json.loads(Path(paths["latest_json"]).read_text()) == report
    markdown = Path(paths["markdown"]).read_text()
    assert markdown == Path(paths["latest_markdown"]).read_text() == rp.render_markdown(report)
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(paths["json"]).st_mode) == 0o600
    assert not os.path.islink(paths["latest_json"])
    previous = Path(paths["latest_markdown"]).read_text()

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", fail)
    with pytest.raises(StoreError, match="No space left on device"):
        rp.write_reports({**report, "generated": "2026-03-02T00:00:00Z"}, str(directory))
    monkeypatch.undo()
    assert Path(paths["latest_markdown"]).read_text() == previous
    assert not [name for name in os.listdir(directory) if name.endswith(".tmp")]


def test_write_reports_rejects_unsafe_stamps(report, tmp_path):
    with pytest.raises(ValueError, match="not a safe report stamp"):
        rp.write_reports(report, str(tmp_path), stamp="../../etc/x")
