from __future__ import annotations

import pytest
from plugin_utils_data import NOW, setuid_file, setuid_result, with_file

from ansible_collections.fleetwatch.audit.plugins.plugin_utils import engine


def session(tmp_path, policy=None):
    return engine.HostSession("web1", str(tmp_path / "store"), policy_path=policy, now=NOW)


def test_snapshot_compare_accept_cycle(tmp_path):
    s = session(tmp_path)
    snap = s.snapshot({"setuid": setuid_result()})
    assert snap["status"] == "snapshot" and snap["baseline_path"].endswith("/hosts/web1.json")
    assert snap["snapshot_checks"] == ["setuid"]
    changed = {"setuid": with_file(setuid_result(), setuid_file("/usr/local/sbin/helper", package=None))}
    result = s.compare(changed)
    assert result["status"] == "compared" and result["fail_on"] == "high"
    [finding] = result["findings"]
    assert result["fail"] == f"web1: 1 finding(s) at or above high, first: {finding['summary']}"
    assert s.compare(changed, fail_on="never")["fail"] is None
    accepted = s.accept(ids=[finding["id"], "ffffffffffff"], reason="CHG-9 helper", who="alice")
    assert [f["id"] for f in accepted["findings"]] == [finding["id"]]
    assert accepted["unknown_ids"] == ["ffffffffffff"]
    assert s.compare(changed)["findings"] == []
    assert s.store.load_baseline("web1")["accepted"][0]["who"] == "alice"
    assert len(s.store.history("web1")) == 1


def test_accept_by_check_and_check_mode(tmp_path):
    s = session(tmp_path)
    s.snapshot({"setuid": setuid_result()})
    s.compare({"setuid": with_file(setuid_result(), setuid_file("/opt/x", package=None))})
    dry = s.accept(checks=["setuid"], reason="r", who="w", write=False)
    assert len(dry["findings"]) == 1
    assert s.store.history("web1") == []  # nothing written
    assert s.accept(checks=["setuid"], reason="r", who="w")["findings"] == dry["findings"]


def test_compare_without_baseline(tmp_path):
    s = session(tmp_path)
    result = s.compare({"setuid": setuid_result()})
    assert result["status"] == "no_baseline" and result["fail"].startswith("web1: 1 finding(s)")
    first = s.compare({"setuid": setuid_result()}, snapshot_if_missing=True)
    assert first["status"] == "snapshot" and first["fail"] is None
    assert s.compare({"setuid": setuid_result()})["status"] == "compared"


def test_engine_errors(tmp_path):
    s = session(tmp_path)
    with pytest.raises(engine.EngineError, match="has no baseline"):
        s.accept(ids=["x"], reason="r", who="w")
    s.snapshot({"setuid": setuid_result()})
    with pytest.raises(engine.EngineError, match="no compare of web1 is recorded"):
        s.accept(ids=["x"], reason="r", who="w")
    with pytest.raises(engine.EngineError, match="nothing usable to snapshot: setuid: gatherer failed: boom"):
        s.snapshot({"setuid": {"failed": True, "msg": "boom"}})
    bad = tmp_path / "policy.yml"
    bad.write_text("fail_on: maybe\n")
    with pytest.raises(engine.EngineError, match="fail_on: not a severity"):
        session(tmp_path, str(bad))


def test_to_plain_and_actions():
    class Tagged(str):
        pass

    plain = engine.to_plain({Tagged("k"): (Tagged("v"), 1, True, None, 2.5, {"s"})})
    assert plain == {"k": ["v", 1, True, None, 2.5, ["s"]]}
    assert next(iter(plain)).__class__ is str and plain["k"][0].__class__ is str
    assert engine.is_audit_action("fleetwatch.audit.setuid_info")
    assert engine.is_audit_action("fleetwatch.audit.baseline")
    assert not engine.is_audit_action("fleetwatch.audit.fleet_summary")
    assert not engine.is_audit_action("ansible.builtin.set_fact")
    assert not engine.is_audit_action(None)


def test_observations_from_a_callback(tmp_path):
    hosts = [f"web{i}" for i in range(1, 7)]
    observations = engine.Observations()
    for host in hosts[:5]:
        s = engine.HostSession(host, str(tmp_path / "store"), now=NOW)
        s.snapshot({"setuid": setuid_result()})
        gathered = setuid_result()
        observations.add(host, "ok", "fleetwatch.audit.setuid_info", gathered)
        compare = s.compare({"setuid": gathered})
        observations.add(host, "ok", "fleetwatch.audit.baseline", {**compare, "changed": False})
    observations.add("web6", "failed", "ansible.builtin.command", {"msg": "sudo: a password is required"})
    observations.add("web6", "skipped", "ansible.builtin.debug", {"msg": None})
    observations.add("web5", "failed", "ansible.builtin.command", {"msg": "late failure"})
    report = engine.fleet_report(observations, hosts, dict.fromkeys(hosts, "web"), now=NOW)
    assert report["summary"]["clean"] == hosts[:5]
    assert report["hosts"]["web6"]["status"] == "failed"
    assert report["hosts"]["web6"]["reason"] == "sudo: a password is required"
    assert report["summary"]["fail"].startswith("the fleet reaches fail_on high: 1 high finding(s)")
    paths = engine.write_fleet_reports(report, str(tmp_path / "reports"))
    assert paths["latest_json"].endswith("/reports/latest.json")
    assert engine.terminal_summary(report, paths).splitlines()[0] == (
        "fleetwatch: 6 hosts, 5 audited, 1 not audited, 0 drifting, 5 clean"
    )


def test_observations_failed_compare_is_still_audited_and_unreachable_wins():
    observations = engine.Observations()
    compare = {"host": "h1", "status": "compared", "findings": [], "checks": {"setuid": "ok"}, "failed": True}
    observations.add("h1", "failed", "fleetwatch.audit.baseline", compare)
    observations.add("h2", "unreachable", "fleetwatch.audit.setuid_info", {"msg": "ssh timeout", "unreachable": True})
    observations.add("h2", "failed", "ansible.builtin.command", {"msg": "later"})
    observations.add("h3", "skipped", "fleetwatch.audit.baseline", {"skip_reason": "Conditional result was False"})
    observations.add_compare("h4", {"skipped": True, "changed": False})
    report = engine.fleet_report(observations, ["h1", "h2", "h3", "h4"], {}, now=NOW, fail_on="never")
    statuses = {h: (e["status"], e["reason"]) for h, e in report["hosts"].items()}
    assert statuses == {
        "h1": ("audited", None),
        "h2": ("unreachable", "ssh timeout"),
        "h3": ("skipped", "Conditional result was False"),
        "h4": ("skipped", "no message"),
    }
    assert report["summary"]["fail"] is None and report["summary"]["fail_on"] == "never"


def test_accept_reads_and_writes_the_baseline_under_the_host_lock(tmp_path, monkeypatch):
    s = session(tmp_path)
    s.snapshot({"setuid": setuid_result()})
    s.compare({"setuid": with_file(setuid_result(), setuid_file("/opt/x", package=None))})
    held = []
    save = s.store.save_baseline

    def checked_save(host, document):
        other = engine.DirectoryStore(s.store.root, lock_timeout=0)
        with pytest.raises(engine.FleetwatchError, match="being changed by another run"), other.locked(host):
            pass
        held.append(host)
        return save(host, document)

    monkeypatch.setattr(s.store, "save_baseline", checked_save)
    s.accept(checks=["setuid"], reason="r", who="w")
    s.restore()
    assert held == ["web1", "web1"]


def test_concurrent_accepts_of_one_host_keep_both(tmp_path):
    """Two runs accepting different findings of one host at once: both end up in its baseline."""
    import multiprocessing

    s = session(tmp_path)
    s.snapshot({"setuid": setuid_result()})
    changed = with_file(
        with_file(setuid_result(), setuid_file("/opt/a", package=None)), setuid_file("/opt/b", package=None)
    )
    ids = sorted(f["id"] for f in s.compare({"setuid": changed})["findings"])
    assert len(ids) == 2
    context = multiprocessing.get_context("fork")
    start = context.Barrier(2)

    def accept_one(finding_id):
        start.wait()
        session(tmp_path).accept(ids=[finding_id], reason="r", who=finding_id)

    workers = [context.Process(target=accept_one, args=(finding_id,)) for finding_id in ids]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [worker.exitcode for worker in workers] == [0, 0]
    assert sorted(record["who"] for record in s.store.load_baseline("web1")["accepted"]) == ids


def test_the_inventory_groups_reach_the_checks(tmp_path):
    session = engine.HostSession("web1", str(tmp_path / "store"), now=NOW, inventory_groups={"dmz": ["web1"]})
    assert session.context.groups_of("web1") == ["dmz"] and session.context.names_host(["dmz"], "web1")
    report = engine.fleet_report(engine.Observations(), [], {}, now=NOW, inventory_groups={"dmz": ["web1"]})
    assert report["fleet_findings"] == []  # builds with groups; the checks read them through the context
