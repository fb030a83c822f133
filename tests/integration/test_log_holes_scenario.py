"""Holes in the logs over real SSH: snapshot, more logs, compare, accept, with the collection's playbooks.

Three real sshd hosts on loopback (see harness/fleet.py); each audits its own tree through the collect role's
``fleetwatch_root``, which holds a ``var/log/syslog`` with traditional timestamps written here: a steady rate (600
events an hour by day, 240 by night, UTC) over the last seven days.

The snapshot reads the logs up to the start of day 6 (``until``), as a snapshot taken two days ago would have: the
baseline's profile comes from days 1-5, and a compare judges the hours after it. Before the compare, days 6-7 are
appended to every host's log (up to two hours ahead of now, so that the hour in which a compare runs is full
whatever the wall clock does meanwhile); on fw-host-1 one day hour of day 6 holds only 5 % of its events. The
compare must report exactly that hour on fw-host-1 and nothing on the others.
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from harness.environment import PROJECT_ANSIBLE_CFG
from harness.playbooks import run_playbook

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
FAST = {"ANSIBLE_PIPELINING": "True"}
HOSTS = ("fw-host-1", "fw-host-2", "fw-host-3")
WIPED_HOST = "fw-host-1"
SYSLOG = "/var/log/syslog"
DAY_RATE, NIGHT_RATE = 600, 240
KEPT = 0.05  # the share of the wiped hour's events left on fw-host-1


def rate(hour: int) -> int:
    return DAY_RATE if 6 <= hour % 24 < 22 else NIGHT_RATE


def iso(hour: int) -> str:
    return datetime.fromtimestamp(hour * 3600, timezone.utc).strftime("%Y-%m-%dT%H:00:00Z")


def syslog_lines(first: int, end: int, host: str, counts: dict | None = None) -> str:
    """Traditional syslog lines for the hours ``first`` … ``end - 1``, evenly spread in each hour."""
    lines = []
    for hour in range(first, end):
        count = (counts or {}).get(hour, rate(hour))
        for index in range(count):
            moment = datetime.fromtimestamp(hour * 3600 + index * 3600 // count, timezone.utc)
            lines.append(f"{moment:%b %e %H:%M:%S} {host} app[{1000 + index % 7}]: request {index} served\n")
    return "".join(lines)


class Scenario:
    def __init__(self, fleet, base: Path):
        self.fleet = fleet
        self.base = base
        self.store = base / "store"
        self.reports = base / "reports"
        self.now = int(time.time()) // 3600  # the hour in which the scenario starts
        self.start = self.now - 7 * 24  # day 1
        self.boundary = self.now - 2 * 24  # the start of day 6: the end of the baseline's data
        # the first day hour at least six hours into day 6 (its expected rate is DAY_RATE)
        self.wiped = next(h for h in range(self.boundary + 6, self.boundary + 30) if 8 <= h % 24 < 20)
        self.roots = {name: base / "roots" / name for name in HOSTS}
        for name, root in self.roots.items():
            (root / "var/log").mkdir(parents=True)
            (root / "etc").mkdir()
            (root / "etc/hostname").write_text(name + "\n")
            self.syslog(name).write_text(syslog_lines(self.start, self.boundary, name))
        self.inventory = fleet.write_inventory(
            base / "inventory.yml",
            groups={"fleet": list(HOSTS)},
            hosts=list(HOSTS),
            host_vars={name: {"fleetwatch_root": str(root)} for name, root in self.roots.items()},
        )

    def syslog(self, name: str) -> Path:
        return self.roots[name] / "var/log/syslog"

    def append_days_6_and_7(self) -> None:
        for name in HOSTS:
            counts = {self.wiped: int(DAY_RATE * KEPT)} if name == WIPED_HOST else None
            with self.syslog(name).open("a") as handle:
                handle.write(syslog_lines(self.boundary, self.now + 3, name, counts))

    def log_rate_options(self, **more) -> dict:
        return {"sources": [{"path": SYSLOG}], "since": "all", "timezone": "UTC", **more}

    def play(self, name: str, store: Path | None = None, reports: Path | None = None, **more):
        variables = {
            "fleetwatch_store": str(store or self.store),
            "fleetwatch_become": False,
            "fleetwatch_checks": ["setuid", "log_rate"],
            "fleetwatch_log_rate": self.log_rate_options(),
            **more,
        }
        env = {**FAST, "FLEETWATCH_REPORT_DIR": str(reports or self.reports)}
        return run_playbook(
            PLAYBOOKS / name, self.inventory, extra_vars=variables, env=env, ansible_config=PROJECT_ANSIBLE_CFG
        )


def _latest(reports: Path) -> dict:
    return json.loads((reports / "latest.json").read_text())


def _findings(report: dict, host: str) -> list:
    return [(f["check"], f["kind"], f["severity"], f["subject"]) for f in report["hosts"][host]["findings"]]


@pytest.fixture(scope="module")
def scenario(ssh_fleet, tmp_path_factory):
    ssh_fleet.ensure_running()
    scenario = Scenario(ssh_fleet, tmp_path_factory.mktemp("log-holes"))
    snapshot = scenario.play(
        "snapshot.yml", fleetwatch_log_rate=scenario.log_rate_options(until=iso(scenario.boundary))
    )
    assert snapshot.returncode == 0, snapshot.describe()
    scenario.baselines = {name: json.loads((scenario.store / "hosts" / f"{name}.json").read_text()) for name in HOSTS}
    scenario.append_days_6_and_7()
    scenario.compare = scenario.play("compare.yml")
    scenario.report = _latest(scenario.reports)
    return scenario


def test_snapshot_stores_the_profile_of_days_1_to_5(scenario):
    for name, baseline in scenario.baselines.items():
        data = baseline["checks"]["log_rate"]
        assert data["until"] == iso(scenario.boundary), name
        syslog = data["sources"][SYSLOG]
        assert syslog["error"] is None and syslog["kind"] == "file"
        assert syslog["events"] == sum(rate(h) for h in range(scenario.start, scenario.boundary))
        profile = syslog["profile"]
        assert profile["to"] == iso(scenario.boundary)
        assert profile["hour"]["12"] == DAY_RATE and profile["hour"]["02"] == NIGHT_RATE
        assert profile["holes_ignored"] == 0
        assert "setuid" in baseline["checks"]


def test_compare_reports_exactly_the_wiped_hour(scenario):
    report = scenario.report
    wiped = scenario.wiped
    assert _findings(report, WIPED_HOST) == [
        ("log_rate", "anomaly", "medium", f"{SYSLOG} {iso(wiped)}/{iso(wiped + 1)}")
    ]
    for clean in HOSTS[1:]:
        assert _findings(report, clean) == [], clean
    hole = report["hosts"][WIPED_HOST]["findings"][0]
    assert hole["after"]["source"] == SYSLOG and hole["after"]["rule"] == "hole"
    assert (hole["after"]["start"], hole["after"]["end"]) == (iso(wiped), iso(wiped + 1))
    assert hole["after"]["observed_total"] == int(DAY_RATE * KEPT) == 30
    assert hole["before"]["expected_total"] == DAY_RATE and hole["before"]["basis"] == "baseline"
    assert hole["since"] == iso(wiped)
    assert "30 events in the hour from" in hole["summary"] and "about 600 were expected" in hole["summary"]
    assert report["summary"]["drifting"] == [WIPED_HOST]
    assert report["summary"]["clean"] == list(HOSTS[1:])


def test_compare_inventory_and_recap(scenario):
    # a medium finding does not reach fail_on (high): the run passes and the host is drifting
    assert scenario.compare.returncode == 0, scenario.compare.describe()
    for name in HOSTS:
        entry = scenario.report["hosts"][name]
        assert entry["status"] == "audited"
        assert entry["inventory"]["log_rate"].startswith("1 log source, "), entry["inventory"]
        assert "(/var/log/syslog)" in entry["inventory"]["log_rate"]
        assert scenario.compare.recap[name]["failed"] == 0
    assert "fleetwatch: 3 hosts, 3 audited, 0 not audited, 1 drifting, 2 clean" in scenario.compare.stdout


def test_same_hole_same_id_then_accept_clears_it(scenario):
    store = scenario.base / "store-accept"
    shutil.copytree(scenario.store, store)
    reports = scenario.base / "reports-accept"
    hole_id = scenario.report["hosts"][WIPED_HOST]["findings"][0]["id"]

    again = scenario.play("compare.yml", store=store, reports=reports)
    assert again.returncode == 0, again.describe()
    assert [f["id"] for f in _latest(reports)["hosts"][WIPED_HOST]["findings"]] == [hole_id]

    accepted = scenario.play(
        "accept.yml",
        store=store,
        reports=reports,
        fleetwatch_accept_ids=[hole_id],
        fleetwatch_accept_reason="CHG-77 log shipper restarted",
        fleetwatch_accept_who="tester",
    )
    assert accepted.returncode == 0, accepted.describe()
    baseline = json.loads((store / "hosts" / f"{WIPED_HOST}.json").read_text())
    assert baseline["checks"]["log_rate"]["accepted_hours"] == [
        {"source": SYSLOG, "start": iso(scenario.wiped), "end": iso(scenario.wiped + 1)}
    ]
    assert (
        baseline["checks"]["log_rate"]["sources"][SYSLOG]["profile"]
        == (scenario.baselines[WIPED_HOST]["checks"]["log_rate"]["sources"][SYSLOG]["profile"])
    )

    clean = scenario.play("compare.yml", store=store, reports=reports)
    assert clean.returncode == 0, clean.describe()
    report = _latest(reports)
    for name in HOSTS:
        assert _findings(report, name) == [], name
    assert report["summary"]["clean"] == list(HOSTS)
