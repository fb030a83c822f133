# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # The options of the log gatherers that read the shared log sources (fleetwatch.audit.log_sources);
    # their argument spec is LOG_SOURCE_OPTIONS in module_utils/_logsource/options.py.
    DOCUMENTATION = r"""
options:
  sources:
    description:
      - The log sources to read instead of the module's default ones. Each entry has O(sources[].path) or
        O(sources[].journal).
    type: list
    elements: dict
    suboptions:
      path:
        description:
          - Absolute path of a log file, inside O(root). Its rotated siblings are read too unless
            O(sources[].rotated=false).
        type: str
      journal:
        description:
          - Read the systemd journal. V({}) for the system journal (or C(<root>/var/log/journal)), with the
            module's default matches.
        type: dict
        suboptions:
          matches:
            description:
              - journalctl matches, each C(FIELD=value) or V(+) (or), for example C(_SYSTEMD_UNIT=ssh.service).
              - Empty, the module's default matches (none for M(fleetwatch.audit.log_rate_info), sshd's identifiers
                and units for M(fleetwatch.audit.sshd_auth_info)).
            type: list
            elements: str
            default: []
          directory:
            description: A journal directory inside O(root) (C(journalctl --directory)).
            type: str
          files:
            description: Journal files inside O(root) (C(journalctl --file)).
            type: list
            elements: str
            default: []
      name:
        description: Name of the source in the result. Defaults to the path, or C(journal).
        type: str
      rotated:
        description: Also read the rotated siblings of O(sources[].path).
        type: bool
        default: true
  since:
    description:
      - Read events from this time on, widened to the start of its UTC hour so that every hour read is complete.
      - A relative age (V(8d), V(12h), V(1d12h), V(90m), V(2w)), V(all), V(now), C(@<epoch seconds>), or an ISO 8601
        date or time (V(2025-10-01), V(2025-10-01T12:00:00+02:00)); without an offset it is read in O(timezone).
      - The default, eight days, covers a week with a day of overlap for a daily run; V(all) reads every rotated
        file.
    type: str
    default: 8d
  until:
    description:
      - Read events before this time (widened to the end of its UTC hour). Same forms as O(since).
      - Not set, there is no upper bound (events dated in the future are read too).
    type: str
  timezone:
    description:
      - Time zone of the timestamps written without a UTC offset (traditional syslog timestamps).
      - An IANA name (V(Europe/Berlin)), V(UTC), a fixed offset (V(+05:30)), or V(local) for the system's zone
        (C(/etc/localtime) below O(root); UTC if there is none).
    type: str
    default: local
  year:
    description:
      - The year of the last traditional timestamp of every file, instead of the year taken from the file's
        modification time (for copied files whose modification time is not the log's).
    type: int
"""
