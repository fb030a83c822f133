"""Where the harness finds its tools, how long it waits, and what it does when the machine lacks something.

A missing binary or root skips the test locally and fails it when ``CI`` is set, naming the Debian package.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
VENV_DIR = REPO_ROOT / ".venv"
VENV_BIN = VENV_DIR / "bin" if (VENV_DIR / "bin").is_dir() else Path(sys.executable).parent
COLLECTIONS_PATH = VENV_DIR / "collections"
#: The project's own configuration (enables the fleetwatch.audit.fleet_diff callback). Pass it explicitly as
#: ``ansible_config=PROJECT_ANSIBLE_CFG``; the default is a minimal harness configuration without callbacks.
PROJECT_ANSIBLE_CFG = REPO_ROOT / "ansible.cfg"

#: Bounded deadline (seconds) for every wait of the harness: server start, stop, log lines.
DEFAULT_TIMEOUT = float(os.environ.get("FLEETWATCH_HARNESS_TIMEOUT", "20"))
#: Deadline for one ansible-playbook / ansible-runner run.
DEFAULT_RUN_TIMEOUT = float(os.environ.get("FLEETWATCH_HARNESS_RUN_TIMEOUT", "600"))

#: Binary -> Debian package providing it (for skip / failure messages).
DEBIAN_PACKAGES = {
    "sshd": "openssh-server",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "sshpass": "sshpass",
    "rsyslogd": "rsyslog",
    "ip": "iproute2",
    "iptables": "iptables",
    "iptables-save": "iptables",
}
#: Searched after $PATH: sshd lives in /usr/sbin, which is not on every user's PATH.
SYSTEM_BIN_DIRS: tuple = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


def in_ci() -> bool:
    """True when the CI environment variable is set (CI must not silently skip)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def skip_or_fail(reason: str) -> None:
    """``pytest.skip(reason)``, or ``pytest.fail`` when running in CI."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set: failing instead of skipping)", pytrace=False)
    pytest.skip(reason)


def find_binary(name: str) -> str | None:
    """Absolute path of ``name`` on $PATH or in the usual system bin/sbin directories, else None."""
    dirs = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d]
    dirs += [d for d in SYSTEM_BIN_DIRS if d not in dirs]
    found = shutil.which(name, path=os.pathsep.join(dirs)) if dirs else None
    return os.path.abspath(found) if found else None


def require_binaries(*names: str) -> dict:
    """Return ``{name: absolute path}``; skip the test (fail under CI) naming the Debian packages if one is missing."""
    found = {name: find_binary(name) for name in names}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        packages = sorted({DEBIAN_PACKAGES.get(name, name) for name in missing})
        skip_or_fail(
            f"missing binar{'y' if len(missing) == 1 else 'ies'} {', '.join(missing)}: "
            f"install the Debian package{'s' if len(packages) > 1 else ''} {' '.join(packages)} "
            f"(apt-get install {' '.join(packages)})"
        )
    return found


def require_root() -> None:
    """The fleet runs sshd as root and logs in as root: skip (fail under CI) otherwise."""
    if os.geteuid() != 0:
        skip_or_fail("the sshd fleet needs root (sshd privilege separation, login as root)")


def target_python() -> str:
    """The machine's python3 for the target side (not the venv): $FLEETWATCH_TARGET_PYTHON, /usr/bin/python3, PATH."""
    explicit = os.environ.get("FLEETWATCH_TARGET_PYTHON")
    if explicit:
        return explicit
    if os.access("/usr/bin/python3", os.X_OK):
        return "/usr/bin/python3"
    return find_binary("python3") or "/usr/bin/python3"
