"""Fixtures of the integration tests: a fleet of real sshd hosts on loopback (see harness/).

- ``ssh_fleet`` (session): the shared fleet, ``FLEETWATCH_FLEET_SIZE`` hosts (default 5), fw-host-1 ... on
  127.0.0.11 ...; started once, torn down at the end of the session.
- ``running_fleet`` (function): ``ssh_fleet`` with every host started before and after the test (for tests
  that stop hosts of the shared fleet).
- ``fleet_inventory`` (function): a YAML inventory of ``running_fleet`` (all hosts, group ``fleet``) in tmp_path.
- ``fleet_factory`` (function): ``fleet_factory(n=2, **options)`` starts a private fleet under tmp_path,
  closed at the end of the test.
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # `import harness` in any import mode

from harness.fleet import SshFleet, start_fleet


@pytest.fixture(scope="session")
def ssh_fleet(tmp_path_factory: pytest.TempPathFactory):
    fleet = start_fleet(tmp_path_factory.mktemp("ssh-fleet"), n=int(os.environ.get("FLEETWATCH_FLEET_SIZE", "5")))
    try:
        yield fleet
    finally:
        fleet.close()


@pytest.fixture
def running_fleet(ssh_fleet: SshFleet):
    ssh_fleet.ensure_running()
    yield ssh_fleet
    ssh_fleet.ensure_running()


@pytest.fixture
def fleet_inventory(running_fleet: SshFleet, tmp_path):
    return running_fleet.write_inventory(tmp_path / "inventory.yml", groups={"fleet": running_fleet.names})


@pytest.fixture
def fleet_factory(tmp_path):
    fleets: list = []

    def factory(n: int = 2, **options) -> SshFleet:
        fleet = start_fleet(tmp_path / f"fleet-{len(fleets) + 1}", n, **options)
        fleets.append(fleet)
        return fleet

    yield factory
    for fleet in reversed(fleets):
        fleet.close()
