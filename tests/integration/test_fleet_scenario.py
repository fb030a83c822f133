"""Snapshot -> drift -> compare -> accept over real SSH, with the collection's playbooks, action and callback.

Five real sshd hosts on loopback (see harness/fleet.py); each audits its own fixture tree through the collect role's
``fleetwatch_root``, so the hosts differ. The scenario plants a new setuid-root file owned by no package on
fw-host-1 and alters a package-owned setuid file on fw-host-2; the others stay unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from harness.environment import PROJECT_ANSIBLE_CFG, require_binaries
from harness.playbooks import run_playbook, run_with_ansible_runner

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
# Pipelining keeps five hosts x several runs within reason on a two-core machine.
FAST = {"ANSIBLE_PIPELINING": "True"}

SU = b"\x7fELF fake su, version 1\n" * 40
PASSWD = b"\x7fELF fake passwd\n" * 30
PING = b"\x7fELF fake ping\n" * 20
PACKAGES = {
    # package: [(path, content, mode)]
    "login": [("usr/bin/su", SU, 0o4755)],
    "passwd": [("usr/bin/passwd", PASSWD, 0o4755)],
    "iputils-ping": [("usr/bin/ping", PING, 0o755)],
}


def build_host_tree(root: Path) -> None:
    """A small system: three package-owned privileged binaries and the dpkg database that vouches for them."""
    info = root / "var/lib/dpkg/info"
    info.mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "etc/hostname").write_text(root.name + "\n")
    for package, files in PACKAGES.items():
        lists, sums = ["/.", "/usr", "/usr/bin"], []
        for relative, content, mode in files:
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            path.chmod(mode)
            lists.append("/" + relative)
            sums.append(f"{hashlib.md5(content).hexdigest()}  {relative}")
        (info / f"{package}.list").write_text("\n".join(lists) + "\n")
        (info / f"{package}.md5sums").write_text("\n".join(sums) + "\n")
    subprocess.run(["setcap", "cap_net_raw=ep", str(root / "usr/bin/ping")], check=True)


class Scenario:
    def __init__(self, fleet, base: Path):
        self.fleet = fleet
        self.base = base
        self.store = base / "store"
        self.reports = base / "reports"
        self.roots = {host.name: base / "roots" / host.name for host in fleet}
        for root in self.roots.values():
            build_host_tree(root)
        self.inventory = fleet.write_inventory(
            base / "inventory.yml",
            groups={"fleet": fleet.names},
            host_vars={name: {"fleetwatch_root": str(root)} for name, root in self.roots.items()},
        )

    def variables(self, store: Path | None = None, **more) -> dict:
        return {"fleetwatch_store": str(store or self.store), "fleetwatch_become": False, **more}

    def play(self, name: str, store: Path | None = None, reports: Path | None = None, limit=None, **more):
        env = {**FAST, "FLEETWATCH_REPORT_DIR": str(reports or self.reports)}
        return run_playbook(
            PLAYBOOKS / name,
            self.inventory,
            extra_vars=self.variables(store, **more),
            limit=limit,
            env=env,
            ansible_config=PROJECT_ANSIBLE_CFG,
        )

    def copy_store(self, name: str) -> Path:
        target = self.base / name
        shutil.copytree(self.store, target)
        return target


def _latest(reports: Path) -> dict:
    return json.loads((reports / "latest.json").read_text())


def _files(directory: Path) -> dict:
    return {p.relative_to(directory): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def scenario(ssh_fleet, tmp_path_factory):
    require_binaries("setcap")
    ssh_fleet.ensure_running()
    scenario = Scenario(ssh_fleet, tmp_path_factory.mktemp("scenario"))
    snapshot = scenario.play("snapshot.yml")
    assert snapshot.returncode == 0, snapshot.describe()
    scenario.baselines = _files(scenario.store / "hosts")

    planted = scenario.roots["fw-host-1"] / "usr/local/bin/.helper"
    planted.parent.mkdir(parents=True)
    planted.write_bytes(b"#!/bin/sh\nexec /bin/sh -p\n")
    planted.chmod(0o4755)
    tampered = scenario.roots["fw-host-2"] / "usr/bin/su"
    tampered.write_bytes(SU + b"backdoor\n")
    tampered.chmod(0o4755)

    scenario.compare = scenario.play("compare.yml")
    scenario.report = _latest(scenario.reports)
    return scenario


def _findings(report: dict, host: str) -> list:
    return [(f["check"], f["kind"], f["severity"], f["subject"]) for f in report["hosts"][host]["findings"]]


def test_snapshot_stores_one_baseline_per_host(scenario):
    assert sorted(str(p) for p in scenario.baselines) == sorted(f"{h}.json" for h in scenario.fleet.names)
    for name, content in scenario.baselines.items():
        baseline = json.loads(content)
        files = baseline["checks"]["setuid"]["files"]
        assert sorted(files) == ["/usr/bin/passwd", "/usr/bin/ping", "/usr/bin/su"], name
        assert files["/usr/bin/ping"]["capabilities"] == "cap_net_raw=ep"
        assert files["/usr/bin/su"]["package"] == "login"
        assert files["/usr/bin/su"]["package_verified"] is True
        assert (scenario.store / "hosts" / name).stat().st_mode & 0o777 == 0o600


def test_compare_reports_exactly_the_planted_changes(scenario):
    report = scenario.report
    # The host's section also lists the fleet outlier that its new file makes it.
    assert _findings(report, "fw-host-1") == [
        ("setuid", "added", "critical", "/usr/local/bin/.helper"),
        ("setuid", "anomaly", "high", "/usr/local/bin/.helper"),
    ]
    # Its altered su differs from the four others of the same package: an outlier too.
    assert _findings(report, "fw-host-2") == [
        ("setuid", "changed", "critical", "/usr/bin/su"),
        ("setuid", "anomaly", "high", "/usr/bin/su"),
    ]
    for clean in ("fw-host-3", "fw-host-4", "fw-host-5"):
        assert _findings(report, clean) == [], clean
    su = report["hosts"]["fw-host-2"]["findings"][0]
    assert su["before"]["package_verified"] is True
    assert su["after"]["package_verified"] is False
    assert su["before"]["sha256"] == hashlib.sha256(SU).hexdigest()
    assert su["after"]["sha256"] == hashlib.sha256(SU + b"backdoor\n").hexdigest()
    assert su["since"], "a changed file says since when"
    assert report["summary"]["drifting"] == ["fw-host-1", "fw-host-2"]
    assert report["summary"]["clean"] == ["fw-host-3", "fw-host-4", "fw-host-5"]


def test_recap_fails_the_drifting_hosts_and_the_run(scenario):
    recap = scenario.compare.recap
    assert recap["fw-host-1"]["failed"] == 1 and recap["fw-host-2"]["failed"] == 1
    for clean in ("fw-host-3", "fw-host-4", "fw-host-5"):
        assert recap[clean]["failed"] == 0 and recap[clean]["unreachable"] == 0
    # The last play publishes the fleet summary, then fails the run because the fleet reached fail_on=high.
    assert recap["localhost"]["failed"] == 1, scenario.compare.stdout[-6000:]
    assert scenario.compare.returncode != 0
    assert "fleetwatch: 5 hosts, 5 audited, 0 not audited, 2 drifting, 3 clean" in scenario.compare.stdout


def test_fleet_outliers_name_the_single_host(scenario):
    outliers = {f["subject"]: f for f in scenario.report["fleet_findings"]}
    assert sorted(outliers) == ["/usr/bin/su", "/usr/local/bin/.helper"], scenario.report["fleet_findings"]
    helper, su = outliers["/usr/local/bin/.helper"], outliers["/usr/bin/su"]
    assert (helper["host"], helper["severity"], helper["after"]["count"], helper["after"]["compared"]) == (
        "fw-host-1",
        "high",
        1,
        5,
    )
    assert "1 of 5 hosts in group fleet" in helper["summary"] and "fw-host-1" in helper["summary"]
    assert (su["host"], su["after"]["hosts"]) == ("fw-host-2", ["fw-host-2"])


def test_report_files_agree_with_each_other(scenario):
    files = sorted(p.name for p in scenario.reports.iterdir())
    stamped_json = [f for f in files if f.startswith("fleet-") and f.endswith(".json")]
    assert len(stamped_json) == 2  # the snapshot run and the compare run
    assert json.loads((scenario.reports / stamped_json[-1]).read_text()) == scenario.report
    markdown = (scenario.reports / "latest.md").read_text()
    for finding in (
        scenario.report["hosts"]["fw-host-1"]["findings"] + scenario.report["hosts"]["fw-host-2"]["findings"]
    ):
        assert finding["id"] in markdown
    assert "/usr/local/bin/.helper" in markdown


def test_limit_snapshot_leaves_other_baselines_byte_identical(scenario):
    store = scenario.copy_store("store-limit")
    before = _files(store / "hosts")
    result = scenario.play("snapshot.yml", store=store, reports=scenario.base / "reports-limit", limit="fw-host-1")
    assert result.returncode == 0, result.describe()
    after = _files(store / "hosts")
    changed = sorted(str(name) for name in before if before[name] != after[name])
    assert changed == ["fw-host-1.json"]
    # The replaced baseline is kept, byte for byte, as the host's only history version.
    history = list((store / "history").rglob("*.json"))
    assert len(history) == 1 and history[0].read_bytes() == before[Path("fw-host-1.json")]
    assert sorted(str(p) for p in after) == sorted(str(p) for p in before)


def test_host_with_sshd_down_is_reported_not_audited(scenario):
    store = scenario.copy_store("store-down")
    reports = scenario.base / "reports-down"
    down = scenario.fleet.host("fw-host-5")
    down.stop()
    try:
        result = scenario.play("compare.yml", store=store, reports=reports)
    finally:
        down.start()
    assert result.recap["fw-host-5"]["unreachable"] == 1
    assert result.recap["fw-host-3"]["ok"] > 0 and result.recap["fw-host-3"]["failed"] == 0
    report = _latest(reports)
    assert report["summary"]["not_audited"] == ["fw-host-5"]
    assert report["hosts"]["fw-host-5"]["status"] == "unreachable"
    silent = [f for f in report["fleet_findings"] if f["kind"] == "coverage"]
    assert [(f["host"], f["severity"]) for f in silent] == [("fw-host-5", "high")]
    assert "unreachable" in silent[0]["summary"]
    assert _findings(report, "fw-host-3") == []


def test_accept_one_finding_clears_it_and_only_it_and_undo_restores(scenario):
    store = scenario.copy_store("store-accept")
    reports = scenario.base / "reports-accept"
    planted_id = scenario.report["hosts"]["fw-host-1"]["findings"][0]["id"]  # the critical "added" one
    accepted = scenario.play(
        "accept.yml",
        store=store,
        reports=reports,
        fleetwatch_accept_ids=[planted_id],
        fleetwatch_accept_reason="CHG-42 vendor helper",
        fleetwatch_accept_who="tester",
    )
    assert accepted.returncode == 0, accepted.describe()
    baseline = json.loads((store / "hosts" / "fw-host-1.json").read_text())
    assert [(a["id"], a["reason"], a["who"]) for a in baseline["accepted"]] == [
        (planted_id, "CHG-42 vendor helper", "tester")
    ]
    assert "/usr/local/bin/.helper" in baseline["checks"]["setuid"]["files"]
    assert _files(store / "hosts")[Path("fw-host-2.json")] == scenario.baselines[Path("fw-host-2.json")]

    again = scenario.play("compare.yml", store=store, reports=reports)
    report = _latest(reports)
    # Still an outlier of the fleet, but a reviewed one: listed, suppressed by the accept record.
    assert _findings(report, "fw-host-1") == [("setuid", "anomaly", "high", "/usr/local/bin/.helper")]
    outlier = report["hosts"]["fw-host-1"]["findings"][0]
    assert outlier["suppressed"]["accepted"] == planted_id and outlier["suppressed"]["owner"] == "tester"
    assert report["summary"]["clean"] == ["fw-host-1", "fw-host-3", "fw-host-4", "fw-host-5"]
    assert _findings(report, "fw-host-2") == [
        ("setuid", "changed", "critical", "/usr/bin/su"),
        ("setuid", "anomaly", "high", "/usr/bin/su"),
    ]
    assert again.recap["fw-host-1"]["failed"] == 0 and again.recap["fw-host-2"]["failed"] == 1

    undone = scenario.play("undo.yml", store=store, reports=reports, limit="fw-host-1")
    assert undone.returncode == 0, undone.describe()
    assert _files(store / "hosts") == scenario.baselines  # fw-host-1's baseline is the snapshot's again


def test_ansible_runner_gets_the_fleet_summary_as_artifacts(scenario):
    """What AWX sees: set_stats with per_host false becomes the run's artifact data."""
    store = scenario.copy_store("store-runner")
    result = run_with_ansible_runner(
        PLAYBOOKS / "compare.yml",
        scenario.inventory,
        extra_vars=scenario.variables(store),
        env={**FAST, "FLEETWATCH_REPORT_DIR": str(scenario.base / "reports-runner")},
        ansible_config=PROJECT_ANSIBLE_CFG,
    )
    assert result.status == "failed"  # the fleet drifted
    stats = [e for e in result.events if e.get("event") == "playbook_on_stats"]
    artifact = stats[-1]["event_data"]["artifact_data"]["fleetwatch"]
    assert artifact["drifting"] == ["fw-host-1", "fw-host-2"]
    assert artifact["counts"]["critical"] == 2
    assert os.path.exists(scenario.base / "reports-runner" / "latest.json")


def test_without_the_callback_the_run_says_how_and_the_last_play_writes_the_report(scenario):
    store = scenario.copy_store("store-nocallback")
    reports = scenario.base / "reports-nocallback"
    result = run_playbook(
        PLAYBOOKS / "compare.yml",
        scenario.inventory,
        extra_vars=scenario.variables(store, fleetwatch_report_dir=str(reports)),
        env=FAST,
        ansible_config=None,  # the harness's own ansible.cfg: no callbacks enabled
    )
    assert result.stdout.count("The fleet report callback is not enabled") == 1
    assert "FLEETWATCH FLEET DIFF" not in result.stdout
    report = _latest(reports)  # written by the fleet_summary action of the last play
    assert report["summary"]["drifting"] == ["fw-host-1", "fw-host-2"]
    assert _findings(report, "fw-host-3") == []
    assert result.recap["localhost"]["failed"] == 1


@pytest.mark.parametrize("play_options", [{"serial": 2}, {"strategy": "free"}], ids=["serial", "free"])
def test_callback_aggregates_a_users_own_playbook(scenario, play_options):
    """Any playbook using the collection's role and action is aggregated, whatever its batches or strategy."""
    store = scenario.copy_store(f"store-own-{'-'.join(play_options)}")
    reports = scenario.base / f"reports-own-{'-'.join(play_options)}"
    play = {
        "name": "A user's own nightly audit",
        "hosts": "fleet",
        "gather_facts": False,
        **play_options,
        "roles": [{"role": "fleetwatch.audit.collect"}],
        "tasks": [
            {
                "name": "Compare without failing the host",
                "fleetwatch.audit.baseline": {"state": "compare", "store": str(store), "fail_on": "never"},
            }
        ],
    }
    result = run_playbook(
        [play],
        scenario.inventory,
        extra_vars={"fleetwatch_become": False},
        env={**FAST, "FLEETWATCH_REPORT_DIR": str(reports)},
        ansible_config=PROJECT_ANSIBLE_CFG,
    )
    assert result.returncode == 0, result.describe()
    report = _latest(reports)
    assert sorted(report["hosts"]) == scenario.fleet.names
    assert report["summary"]["audited"] == 5 and report["summary"]["not_audited"] == []
    assert report["summary"]["drifting"] == ["fw-host-1", "fw-host-2"]
    assert ("setuid", "added", "critical", "/usr/local/bin/.helper") in _findings(report, "fw-host-1")
