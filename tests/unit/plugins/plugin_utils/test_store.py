from __future__ import annotations

import json
import os
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from plugin_utils_data import NOW, setuid_result

from ansible_collections.fleetwatch.audit.plugins.plugin_utils import store as st
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.baselines import new_baseline
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.errors import StoreError


class Clock:
    def __init__(self):
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)

    def __call__(self):
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def store(tmp_path):
    return st.DirectoryStore(str(tmp_path / "store"), clock=Clock())


def baseline(host="h1", gathered=None):
    return new_baseline(host, gathered or {"setuid": setuid_result()}, NOW)[0]


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_save_and_load_with_permissions(store, tmp_path):
    path = store.save_baseline("h1", baseline())
    assert path == str(tmp_path / "store" / "hosts" / "h1.json")
    assert store.load_baseline("h1") == baseline()
    assert mode(path) == 0o600
    for directory in ("store", "store/hosts"):
        assert mode(tmp_path / directory) == 0o700
    assert store.load_baseline("nobody") is None
    assert store.hosts() == ["h1"]


def test_history_and_restore_undo_an_accept(store):
    first = baseline()
    store.save_baseline("h1", first)
    second = {**first, "updated": "2026-03-02T00:00:00Z", "accepted": [{"id": "abc"}]}
    store.save_baseline("h1", second)
    versions = store.history("h1")
    assert versions == ["20260301T120001.000000Z"]
    assert store.load_version("h1", versions[0]) == first
    assert mode(os.path.join(store.root, "history", "h1", versions[0] + ".json")) == 0o600
    store.restore("h1", versions[0])
    assert store.load_baseline("h1") == first
    assert len(store.history("h1")) == 2  # the undone version is kept too
    assert store.load_version("h1", store.history("h1")[-1]) == second
    with pytest.raises(StoreError, match="not a history version"):
        store.restore("h1", "../../hosts/h1")
    with pytest.raises(StoreError, match="has no history version"):
        store.restore("h1", "20200101T000000.000000Z")


def test_history_versions_in_the_same_microsecond_do_not_collide(tmp_path):
    fixed = st.DirectoryStore(str(tmp_path), clock=lambda: NOW)
    for number in range(3):
        fixed.save_baseline("h1", {**baseline(), "updated": str(number)})
    assert fixed.history("h1") == ["20260301T120000.000000Z", "20260301T120000.000000Z-1"]


def test_unserialisable_data_leaves_the_old_file(store):
    path = store.save_baseline("h1", baseline())
    before = Path(path).read_bytes()
    with pytest.raises(StoreError, match=r"cannot write .*h1.json: data is not JSON-serialisable"):
        store.save_baseline("h1", {**baseline(), "bad": object()})
    assert Path(path).read_bytes() == before
    assert sorted(os.listdir(os.path.dirname(path))) == ["h1.json"]


def test_failed_rename_leaves_the_old_file_and_no_temp_file(store, monkeypatch):
    path = store.save_baseline("h1", baseline())
    before = Path(path).read_bytes()

    real_replace = os.replace

    def full_disk(src, dst):
        if dst == path:  # the history copy succeeds, the new baseline does not
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(st.os, "replace", full_disk)
    with pytest.raises(StoreError, match=r"cannot write .*h1.json: No space left on device"):
        store.save_baseline("h1", {**baseline(), "updated": "later"})
    monkeypatch.undo()
    assert Path(path).read_bytes() == before
    assert os.listdir(os.path.dirname(path)) == ["h1.json"]
    history_dir = os.path.join(store.root, "history", "h1")
    assert [Path(os.path.join(history_dir, n)).read_bytes() for n in os.listdir(history_dir)] == [before]


def test_corrupt_files_are_named(store):
    path = store.save_baseline("h1", baseline())
    with open(path, "w") as handle:
        handle.write('{"schema": 1, "host": "h1", "checks": {')
    with pytest.raises(StoreError, match=r"corrupt store file .*hosts/h1.json"):
        store.load_baseline("h1")
    with open(path, "w") as handle:
        json.dump({"schema": 1, "host": "h2"}, handle)
    with pytest.raises(StoreError, match="belongs to host 'h2', not 'h1'"):
        store.load_baseline("h1")
    with open(path, "w") as handle:
        json.dump({"schema": 7, "host": "h1"}, handle)
    with pytest.raises(StoreError, match="unsupported schema 7"):
        store.load_baseline("h1")
    with open(path, "w") as handle:
        handle.write("[]")
    with pytest.raises(StoreError, match="not a JSON object"):
        store.load_baseline("h1")


@pytest.mark.parametrize("host", ["../x", "a/b", ".hidden", "..", "ünï", "web1;rm -rf"])
def test_hostile_host_names_stay_inside_the_store(store, host):
    path = store.save_baseline(host, baseline(host))
    assert os.path.dirname(path) == os.path.join(store.root, "hosts")
    assert not os.path.basename(path).startswith(".")
    assert store.load_baseline(host)["host"] == host
    store.save_baseline(host, baseline(host))
    assert len(store.history(host)) == 1
    store.save_observed(host, {"setuid": setuid_result()})
    assert store.hosts() == [host]
    assert sorted(os.listdir(store.root)) == ["history", "hosts", "observed"]


def test_observed_round_trip(store):
    gathered = {"setuid": setuid_result()}
    path = store.save_observed("h1", gathered)
    assert store.load_observed("h1") == gathered
    assert json.loads(Path(path).read_text())["saved"] == "2026-03-01T12:00:01Z"
    assert store.load_observed("h2") is None


def _held_elsewhere(path) -> bool:
    """Whether another open file description holds the flock of ``path``."""
    import fcntl

    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def test_host_lock_excludes_other_runs_and_times_out(tmp_path):
    one = st.DirectoryStore(str(tmp_path / "store"))
    other = st.DirectoryStore(str(tmp_path / "store"), lock_timeout=0.2)
    lock_file = tmp_path / "store" / "locks" / "web1.lock"
    with one.locked("web1"):
        assert _held_elsewhere(lock_file)
        assert mode(lock_file) == 0o600 and mode(lock_file.parent) == 0o700
        busy = r"baseline of web1 is being changed by another run .* 0.2 s"
        with pytest.raises(StoreError, match=busy), other.locked("web1"):
            pass
        with other.locked("web2"):  # other hosts are not held up
            pass
    assert not _held_elsewhere(lock_file)
    with other.locked("web1"):
        pass
