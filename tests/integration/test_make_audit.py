"""`make audit`, the README's first command: a snapshot of this machine, then a clean compare against it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _make_audit(audit_dir: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "FLEETWATCH_"))}
    return subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-C",
            str(REPO),
            "audit",
            f"AUDIT_DIR={audit_dir}",
            # Other tests (and other runs on a shared machine) create setuid files in /tmp between the two audits.
            """AUDIT_ARGS=-e '{"fleetwatch_setuid": {"exclude": ["/tmp"]}}'""",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_first_run_snapshots_second_run_compares_clean(tmp_path):
    first = _make_audit(tmp_path)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    assert "1 baseline written" in first.stdout
    baselines = list((tmp_path / "store" / "hosts").iterdir())
    assert len(baselines) == 1
    files = json.loads(baselines[0].read_text())["checks"]["setuid"]["files"]
    su = files.get("/usr/bin/su") or files.get("/bin/su")
    assert su is not None and su["kinds"] == ["setuid"] and su["package_verified"] is True

    second = _make_audit(tmp_path)
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-2000:]
    assert "fleetwatch: 1 hosts, 1 audited, 0 not audited, 0 drifting, 1 clean" in second.stdout
    assert f"report: {tmp_path}/reports/fleet-" in second.stdout
    report = json.loads((tmp_path / "reports" / "latest.json").read_text())
    [entry] = report["hosts"].values()
    assert entry["status"] == "audited" and entry["findings"] == []
    assert entry["inventory"]["setuid"].startswith(f"{len(files)} files (")
