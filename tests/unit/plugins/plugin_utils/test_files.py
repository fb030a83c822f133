from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from ansible_collections.fleetwatch.audit.plugins.plugin_utils import files
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.errors import StoreError


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_ensure_dir_creates_private_parents(tmp_path):
    target = tmp_path / "a" / "b"
    assert files.ensure_dir(str(target)) == str(target)
    assert mode(tmp_path / "a") == mode(target) == 0o700
    (tmp_path / "plain").write_text("x")
    with pytest.raises(StoreError, match="a file of that name exists"):
        files.ensure_dir(str(tmp_path / "plain"))


def test_write_and_read_json_round_trip(tmp_path):
    path = str(tmp_path / "d" / "doc.json")
    files.write_json(path, {"b": 1, "a": "é"})
    assert mode(path) == 0o600
    assert Path(path).read_bytes() == b'{\n  "a": "\\u00e9",\n  "b": 1\n}\n'  # sorted, ASCII only
    assert files.read_json(path) == {"b": 1, "a": "é"}
    assert files.read_json(str(tmp_path / "missing.json")) is None


def test_read_json_names_a_corrupt_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([1]))
    with pytest.raises(StoreError, match=r"corrupt store file .*bad.json: not a JSON object"):
        files.read_json(str(path))
    with pytest.raises(StoreError, match="cannot write report: data is not JSON-serialisable"):
        files.dump_json({"x": float("nan")}, "report")


def test_failed_write_mid_file_leaves_no_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "f.json"
    target.write_bytes(b"old")

    def broken_fsync(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(files.os, "fsync", broken_fsync)
    with pytest.raises(StoreError, match="Input/output error"):
        files.atomic_write(str(target), b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f.json"]
