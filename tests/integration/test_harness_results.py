"""harness/results.py: the PLAY RECAP of ansible-playbook as data."""

from __future__ import annotations

from harness.results import parse_recap


def test_recap_parser():
    stdout = (
        "PLAY RECAP *********\n"
        "fw-host-1                  : ok=3    changed=1    unreachable=0    failed=0    skipped=2    rescued=0"
        "    ignored=0   \n"
        "fw-unreachable             : ok=0    changed=0    unreachable=1    failed=0    skipped=0    rescued=0"
        "    ignored=0   \n\n"
    )
    recap = parse_recap(stdout)
    assert recap["fw-host-1"] == {
        "ok": 3,
        "changed": 1,
        "unreachable": 0,
        "failed": 0,
        "skipped": 2,
        "rescued": 0,
        "ignored": 0,
    }
    assert recap["fw-unreachable"]["unreachable"] == 1
