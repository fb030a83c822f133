# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The module's thin main() and its documentation (the scan itself is tested in module_utils)."""

from __future__ import annotations

import json
import os

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args

from ansible_collections.fleetwatch.audit.plugins.doc_fragments.root import ModuleDocFragment
from ansible_collections.fleetwatch.audit.plugins.modules import setuid_info


def run_module(capsys, args):
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        setuid_info.main()
    result = json.loads(capsys.readouterr().out)
    return exited.value.code, result


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
    code, result = run_module(capsys, {"root": str(tree), "package_check": False})
    assert code == 0
    assert result["changed"] is False
    assert [entry["path"] for entry in result["files"]] == ["/usr/bin/suid"]
    assert result["root"] == str(tree)


def test_check_mode_is_the_same(capsys, tree):
    code, result = run_module(capsys, {"root": str(tree), "package_check": False, "_ansible_check_mode": True})
    assert code == 0 and result["changed"] is False and "files" in result


def test_invalid_options_fail(capsys, tree):
    code, result = run_module(capsys, {"root": str(tree), "include_fstypes": ["nfs"], "exclude_fstypes": ["nfs"]})
    assert code == 1 and result["failed"] is True
    assert result["msg"] == "filesystem types in both include_fstypes and exclude_fstypes: nfs"
    code, result = run_module(capsys, {"root": str(tree / "missing")})
    assert code == 1 and "not a directory" in result["msg"]


def _argument_spec(monkeypatch):
    captured = {}

    class Capture(Exception):
        pass

    def fake_module(**kwargs):
        captured.update(kwargs)
        raise Capture()

    monkeypatch.setattr(setuid_info, "AnsibleModule", fake_module)
    with pytest.raises(Capture):
        setuid_info.main()
    return captured


def test_documentation_matches_argument_spec(monkeypatch):
    captured = _argument_spec(monkeypatch)
    assert captured["supports_check_mode"] is True
    spec = captured["argument_spec"]
    doc = yaml.safe_load(setuid_info.DOCUMENTATION)
    assert doc["extends_documentation_fragment"][0] == "fleetwatch.audit.root"
    options = dict(doc["options"], **yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"])
    assert sorted(options) == sorted(spec)
    for name, option in options.items():
        assert option["description"], name
        assert option["type"] == spec[name]["type"], name
        assert option.get("default") == spec[name].get("default"), name
        assert option.get("elements") == spec[name].get("elements"), name
    yaml.safe_load(setuid_info.EXAMPLES)


@pytest.mark.skipif(os.geteuid() != 0, reason="setuid files owned by root need root")
def test_every_returned_key_is_documented(capsys, tree):
    os.symlink("usr/bin", tree / "bin")
    _code, result = run_module(capsys, {"root": str(tree), "package_check": False})
    returned = yaml.safe_load(setuid_info.RETURN)
    assert sorted(returned) == sorted(set(result) - {"changed", "invocation"})
    for key in ("files", "filesystems", "package_db", "stats"):
        items = result[key] if isinstance(result[key], list) else [result[key]]
        for item in items:
            assert sorted(item) == sorted(returned[key]["contains"]), key
    assert sorted(returned["errors"]["contains"]) == ["error", "path"]
