# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Which files a source is: default sources of an image, paths shown as inside the root."""

from __future__ import annotations

import gzip

from logsource_data import UTC, trad, utc, write

from ansible_collections.fleetwatch.audit.plugins.module_utils._lograte_scan import (
    DEFAULT_FILES,
    count_source,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.files import discover
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.sources import FileSource
from ansible_collections.fleetwatch.audit.plugins.module_utils._rootview import RootView


def test_discover_in_an_image(tmp_path):
    root = tmp_path / "img"
    (root / "var/log/journal/0123456789abcdef0123456789abcdef").mkdir(parents=True)
    (root / "var/log/journal/0123456789abcdef0123456789abcdef/system.journal").write_bytes(b"")
    write(root / "var/log/syslog", b"")
    write(root / "var/log/auth.log.1", b"")  # only rotated: still a source
    write(root / "var/log/secure-20250901.gz", gzip.compress(b""))
    assert discover(RootView(str(root)), DEFAULT_FILES) == [
        {"journal": {}, "default": True},
        {"path": "/var/log/syslog"},
        {"path": "/var/log/auth.log"},
        {"path": "/var/log/secure"},
    ]
    (root / "var/log/journal/0123456789abcdef0123456789abcdef/system.journal").unlink()
    assert {"journal": {}, "default": True} not in discover(RootView(str(root)), DEFAULT_FILES)


def test_paths_inside_root_are_reported_as_seen_by_the_image(tmp_path):
    root = tmp_path / "img"
    (root / "var/log").mkdir(parents=True)
    write(root / "var/log/syslog.1", trad(utc(2025, 9, 1)), mtime=utc(2025, 9, 1, 1))
    write(root / "var/log/syslog", trad(utc(2025, 9, 2)), mtime=utc(2025, 9, 2, 1))
    result = count_source(FileSource("/var/log/syslog", UTC, root=str(root)))
    assert [f["path"] for f in result["files"]] == ["/var/log/syslog.1", "/var/log/syslog"]
    assert result["path"] == "/var/log/syslog"
