# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The module's thin main() and its documentation (the scan itself is tested in module_utils)."""

from __future__ import annotations

import os

import pytest
import yaml
from module_harness import assert_options_match, documented_options, module_kwargs, run_module

from ansible_collections.fleetwatch.audit.plugins.modules import setuid_info


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "root"
    (root / "usr/bin").mkdir(parents=True)
    target = root / "usr/bin/suid"
    target.write_bytes(b"setuid")
    os.chmod(target, 0o4755)
    return root


@pytest.mark.skipif(os.geteuid() != 0, reason="setuid files owned by root need root")
def test_main_returns_the_scan_never_changed(capsys, tree):
    code, result = run_module(capsys, setuid_info, {"root": str(tree), "package_check": False})
    assert code == 0
    assert result["changed"] is False
    assert [entry["path"] for entry in result["files"]] == ["/usr/bin/suid"]
    assert result["root"] == str(tree)


def test_check_mode_is_the_same(capsys, tree):
    code, result = run_module(
        capsys, setuid_info, {"root": str(tree), "package_check": False, "_ansible_check_mode": True}
    )
    assert code == 0 and result["changed"] is False and "files" in result


def test_invalid_options_fail(capsys, tree):
    code, result = run_module(
        capsys, setuid_info, {"root": str(tree), "include_fstypes": ["nfs"], "exclude_fstypes": ["nfs"]}
    )
    assert code == 1 and result["failed"] is True
    assert result["msg"] == "filesystem types in both include_fstypes and exclude_fstypes: nfs"
    code, result = run_module(capsys, setuid_info, {"root": str(tree / "missing")})
    assert code == 1 and "not a directory" in result["msg"]


def test_documentation_matches_argument_spec(monkeypatch):
    captured = module_kwargs(monkeypatch, setuid_info)
    assert captured["supports_check_mode"] is True
    assert_options_match(documented_options(setuid_info), captured["argument_spec"])
    yaml.safe_load(setuid_info.EXAMPLES)


@pytest.mark.skipif(os.geteuid() != 0, reason="setuid files owned by root need root")
def test_every_returned_key_is_documented(capsys, tree):
    os.symlink("usr/bin", tree / "bin")
    _code, result = run_module(capsys, setuid_info, {"root": str(tree), "package_check": False})
    returned = yaml.safe_load(setuid_info.RETURN)
    assert sorted(returned) == sorted(set(result) - {"changed", "invocation"})
    for key in ("files", "filesystems", "package_db", "stats"):
        items = result[key] if isinstance(result[key], list) else [result[key]]
        for item in items:
            assert sorted(item) == sorted(returned[key]["contains"]), key
    assert sorted(returned["errors"]["contains"]) == ["error", "path"]
