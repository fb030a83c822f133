"""What the harness's own tests (test_harness_*.py) share: a play every fleet host runs, and sshd's log line of a
root login by key."""

from __future__ import annotations

ACCEPTED_ROOT_KEY = r"Accepted publickey for root from 127\.0\.0\.1 port \d+ ssh2"

# Every host: run a command over SSH, read the host's own fixture tree, check it is this host's.
IDENTITY_PLAY = {
    "name": "harness smoke",
    "hosts": "all",
    "gather_facts": False,
    "tasks": [
        {"name": "run a command", "ansible.builtin.command": "hostname", "changed_when": False},
        {
            "name": "stat the fixture root",
            "ansible.builtin.stat": {"path": "{{ fleetwatch_root }}/etc/hostname"},
            "register": "marker",
        },
        {
            "name": "read the marker",
            "ansible.builtin.slurp": {"src": "{{ fleetwatch_root }}/etc/hostname"},
            "register": "content",
        },
        {
            "name": "this host audits its own tree",
            "ansible.builtin.assert": {
                "that": [
                    "marker.stat.exists",
                    "(content.content | b64decode | trim) == inventory_hostname",
                ],
            },
        },
    ],
}


def ran_cleanly(recap_counts: dict) -> bool:
    """No host of the recap counts was unreachable or failed."""
    return recap_counts["unreachable"] == 0 and recap_counts["failed"] == 0
