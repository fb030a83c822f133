"""harness/environment.py: a missing binary skips locally and fails in CI, naming its Debian package."""

from __future__ import annotations

import pytest
from harness import environment
from harness.environment import require_binaries


def test_missing_binary_skips_locally_and_fails_in_ci(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(environment, "SYSTEM_BIN_DIRS", ())
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="install the Debian package openssh-server"):
        require_binaries("sshd")
    with pytest.raises(pytest.skip.Exception, match="sshpass"):
        require_binaries("sshpass")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"openssh-server.*CI is set"):
        require_binaries("sshd")
