"""The callback never breaks a run: an error inside it becomes a warning."""

from __future__ import annotations

from ansible_collections.fleetwatch.audit.plugins.callback.fleet_diff import CallbackModule


class RecordingDisplay:
    verbosity = 0

    def __init__(self):
        self.warnings = []

    def warning(self, msg, *args, **kwargs):
        self.warnings.append(msg)

    def vvv(self, msg, *args, **kwargs):
        pass


class BrokenPlay:
    """A play whose variable manager cannot be reached."""

    hosts = "all"
    order = None

    def get_variable_manager(self):
        raise RuntimeError("inventory exploded")


def test_an_error_inside_the_callback_is_a_warning_not_a_failure():
    display = RecordingDisplay()
    callback = CallbackModule(display=display)
    callback.v2_playbook_on_play_start(BrokenPlay())
    assert len(display.warnings) == 1
    assert "fleetwatch.audit.fleet_diff" in display.warnings[0]
    assert "inventory exploded" in display.warnings[0]
    assert "the fleet report may be incomplete" in display.warnings[0]


def test_a_run_without_audit_tasks_writes_no_report(tmp_path, monkeypatch):
    monkeypatch.setenv("FLEETWATCH_REPORT_DIR", str(tmp_path / "reports"))
    display = RecordingDisplay()
    callback = CallbackModule(display=display)
    callback.set_options()
    callback.v2_playbook_on_stats(stats=None)  # nothing recorded: nothing to report, no error
    assert display.warnings == []
    assert not (tmp_path / "reports").exists()
