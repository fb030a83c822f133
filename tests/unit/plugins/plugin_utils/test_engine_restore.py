from __future__ import annotations

import pytest
from plugin_utils_data import NOW, setuid_file, setuid_result, with_file

from ansible_collections.fleetwatch.audit.plugins.plugin_utils.engine import EngineError, HostSession


def test_restore_undoes_an_accept_and_can_itself_be_undone(tmp_path):
    session = HostSession("h1", str(tmp_path), now=NOW)
    session.snapshot({"setuid": setuid_result()})
    snapshot = (tmp_path / "hosts" / "h1.json").read_bytes()
    drifted = {"setuid": with_file(setuid_result(), setuid_file("/usr/local/bin/x", package=None))}
    [finding] = session.compare(drifted)["findings"]
    session.accept(ids=[finding["id"]], reason="CHG-7", who="ann")
    accepted = (tmp_path / "hosts" / "h1.json").read_bytes()
    assert accepted != snapshot

    restored = session.restore()
    assert restored["status"] == "restored" and restored["accepted"] == []
    assert (tmp_path / "hosts" / "h1.json").read_bytes() == snapshot
    assert session.compare(drifted)["findings"][0]["id"] == finding["id"]  # the finding is back

    again = session.restore()  # the accepted baseline went to the history: undo the undo
    assert again["accepted"][0]["reason"] == "CHG-7"
    assert (tmp_path / "hosts" / "h1.json").read_bytes() == accepted


def test_restore_without_history_or_of_an_unknown_version_is_a_clear_error(tmp_path):
    session = HostSession("h1", str(tmp_path), now=NOW)
    with pytest.raises(EngineError, match="no previous baseline"):
        session.restore()
    session.snapshot({"setuid": setuid_result()})
    session.snapshot({"setuid": setuid_result()})
    with pytest.raises(EngineError, match="no history version 'nope'"):
        session.restore("nope")
