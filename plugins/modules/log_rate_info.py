#!/usr/bin/python
# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: log_rate_info
short_description: Count log events per UTC hour in syslog files and the systemd journal
version_added: 0.1.0
description:
  - Reads the host's logs and returns, for every log source, how many events each UTC hour holds, with the first
    and last event, the rotated files read, the lines that could not be parsed, the boots seen and the steps back in
    time. This is the classic check for wiped logs (C(cut -c1-9 /var/log/syslog | uniq -c)) done for every source
    and with time zones handled; the judgement (an hour falling from 7,500 events to 700 or missing) is made on the
    controller, not here. The module never changes anything.
  - B(Sources.) By default the systemd journal (when C(/var/log/journal) or C(/run/log/journal) holds journal files)
    and the usual files of C(/var/log) that exist or were rotated (C(syslog), C(messages), C(auth.log), C(secure),
    C(kern.log), C(daemon.log), C(user.log), C(cron), C(cron.log), C(maillog), C(mail.log)). O(sources) replaces
    this list.
  - B(Files.) A file is read with its rotated siblings, oldest first (C(syslog.2.gz), C(syslog.1), C(syslog), or by
    date for C(dateext) names such as C(syslog-20251001.gz)); gzip, bzip2 and xz are recognised by content.
    Rotated files last written before O(since) are skipped. Lines start with a traditional timestamp
    (C(Oct  1 00:00:01)), an RFC 3339 one (C(2025-10-01T00:00:01.123456+02:00)) or an RFC 5424 header
    (C(<34>1 2025-10-11T22:14:15.003Z ...)). Other lines are counted as not parsed, never fatal. Files are read in
    blocks, so memory stays bounded whatever the size of the file or of a line.
  - B(Years.) Traditional timestamps have no year. The year of a file's last line is the one that puts it closest
    to the file's modification time (or O(year)); earlier lines go back a year where the date jumps back by more
    than half a year (C(Jan  1) after C(Dec 31)).
  - B(Time zones.) Timestamps without a UTC offset are read in O(timezone), by default the system's zone
    (C(/etc/localtime) below O(root)), with its summer time changes. In the hour repeated when summer time ends,
    lines are in the first (summer time) occurrence until the clock goes back by more than a minute, then in the
    second. All hours returned are UTC.
  - B(Journal.) Read with C(journalctl -o export) (streamed), which gives UTC times and the boot id of every entry.
    With O(root) other than C(/), the journal files of C(<root>/var/log/journal) are read.
  - One source that cannot be read (missing file, permission, corrupt compressed data, journalctl failing) is
    reported with its C(error); the other sources are still read.
  - See the collection's C(docs/modules/log_rate_info.md) for the details (year inference, summer time, rotation).
author: fleetwatch developers (@fleetwatch)
extends_documentation_fragment:
  - fleetwatch.audit.root
  - fleetwatch.audit.log_sources
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only reads; it runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: linux
options:
  verify_journal:
    description:
      - Run C(journalctl --verify) on the files of each journal source and report it in RV(sources[].verify).
      - It checks the files' consistency, and the seals of sealed (FSS) journals where a verification key is set up;
        it reads every journal file once more.
    type: bool
    default: true
notes:
  - Run it with C(become) to read logs only root can read; a file that cannot be read is reported with its error.
  - Steps back within one clock hour are not counted in RV(sources[].backward_jumps), since they do not move events
    between hours.
seealso:
  - module: fleetwatch.audit.setuid_info
"""

EXAMPLES = r"""
- name: Events per hour of every log source of the host, last eight days
  fleetwatch.audit.log_rate_info:
  become: true
  register: log_rates

- name: Hours of the syslog file with their counts
  ansible.builtin.debug:
    msg: "{{ (log_rates.sources | selectattr('name', 'equalto', '/var/log/syslog') | first).hours }}"

- name: A month of sshd in the journal and the auth log, traditional timestamps read as Berlin time
  fleetwatch.audit.log_rate_info:
    sources:
      - journal:
          matches: [_SYSTEMD_UNIT=ssh.service]
        name: sshd-journal
      - path: /var/log/auth.log
    since: 30d
    timezone: Europe/Berlin
  become: true

- name: An offline disk image mounted on /mnt/image, logs copied in 2024
  fleetwatch.audit.log_rate_info:
    root: /mnt/image
    since: all
    year: 2024
"""

RETURN = r"""
root:
  description: The root the logs were read under.
  returned: always
  type: str
  sample: /
timezone:
  description: The zone used for timestamps without an offset.
  returned: always
  type: str
  sample: Europe/Berlin (/etc/localtime)
since:
  description: Start of the window (UTC, start of an hour), null for no bound.
  returned: always
  type: str
  sample: "2025-09-23T10:00:00Z"
until:
  description: End of the window (UTC, exclusive), null for no bound.
  returned: always
  type: str
  sample: null
collected_at:
  description: When the logs were read (UTC); the hour holding it is still filling.
  returned: always
  type: str
  sample: "2025-10-01T10:17:42Z"
discovered:
  description: True when the sources come from the default discovery, false when from O(sources).
  returned: always
  type: bool
  sample: true
sources:
  description: One entry per source, in the order read.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The source's name (its path, C(journal), or O(sources[].name)).
      type: str
      sample: /var/log/syslog
    kind:
      description: V(file) or V(journal).
      type: str
      sample: file
    path:
      description: The file's path inside O(root); for a journal its directory or files, null for the system journal.
      type: str
      sample: /var/log/syslog
    timezone:
      description: Zone of the timestamps without offset (V(UTC) for the journal).
      type: str
      sample: UTC
    hours:
      description:
        - Events per UTC hour inside the window, keyed C(YYYY-MM-DDTHH), sorted. An hour without events is absent.
      type: dict
      sample: {"2025-10-01T00": 8490, "2025-10-01T01": 7631}
    first_event:
      description: Time of the first event read (UTC, file order), null if none.
      type: str
      sample: "2025-09-21T06:25:01Z"
    last_event:
      description: Time of the last event read (UTC, file order), null if none.
      type: str
      sample: "2025-10-01T10:17:40Z"
    lines:
      description: Lines (journal entries) read, in the window or not.
      type: int
      sample: 1523044
    parsed:
      description: Lines with a timestamp.
      type: int
      sample: 1523040
    unparsed:
      description: Lines without a recognisable timestamp (garbage, NUL bytes, a date that does not exist).
      type: int
      sample: 4
    outside_window:
      description: Events before O(since) or after O(until), not in RV(sources[].hours).
      type: int
      sample: 311290
    formats:
      description: Events per timestamp format (V(traditional), V(rfc3339), V(rfc5424), V(journal)).
      type: dict
      sample: {"traditional": 1523040}
    backward_jumps:
      description:
        - Times an event is in an earlier clock hour than the event before it (in file order, across rotated
          files too). The controller judges them.
      type: int
      sample: 0
    largest_backward_jump:
      description: The largest of those steps back, in seconds (null if none).
      type: float
      sample: null
    boots:
      description:
        - Boots seen. Journal - one entry per C(_BOOT_ID) with its first and last event and entry count. Files - the
          kernel's C(Linux version) lines with their time, file and text (at most 500 listed).
      type: list
      elements: dict
      sample: [{"boot_id": "9f98e0f4448f4a5197ea49837a8c5738", "time": "2025-09-21T06:24:58Z",
               "first_event": "2025-09-21T06:24:58Z", "last_event": "2025-10-01T10:17:40Z", "entries": 90211}]
    boot_count:
      description: Boots seen (boot ids, or boot lines), even beyond the 500 listed.
      type: int
      sample: 1
    files:
      description:
        - The files read, oldest first. For a file source, per file - C(path), C(compression) (V(gzip), V(bzip2),
          V(xz) or null), C(size), C(mtime), C(lines), C(parsed), C(unparsed), C(long_lines) (lines longer than the
          read buffer, counted once), C(first_event), C(last_event), C(backward_jumps), C(year) (of the last
          traditional line), C(skipped) (why it was not read, such as C(last written before since)) and C(error).
          Comparing a file's C(last_event) with the next file's C(first_event) shows gaps between rotations.
        - For the journal, the journal files with their C(path) and C(size).
      type: list
      elements: dict
      sample: [{"path": "/var/log/syslog.1", "compression": null, "size": 104857600, "mtime": "2025-09-28T06:25:01Z",
               "lines": 1000000, "parsed": 1000000, "unparsed": 0, "long_lines": 0,
               "first_event": "2025-09-21T06:25:01Z", "last_event": "2025-09-28T06:25:01Z", "backward_jumps": 0,
               "year": 2025, "skipped": null, "error": null}]
    warnings:
      description: journalctl's messages when it succeeded (journal only).
      type: list
      elements: str
      sample: []
    error:
      description: Why the source could not be read (null when it was). Errors of single files are in their entry.
      type: str
      sample: null
    verify:
      description:
        - Journal sources with O(verify_journal) - C(ok) (whether C(journalctl --verify) passed) and C(message)
          (its FAIL lines, at most 20, null when it passed). Null when the source has no journal files.
      type: dict
      sample: {"ok": false, "message": "FAIL: /var/log/journal/0f7.../system.journal (Bad message)"}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleetwatch.audit.plugins.module_utils._lograte_scan import gather
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.options import LOG_SOURCE_OPTIONS


def main():
    module = AnsibleModule(
        argument_spec={
            **LOG_SOURCE_OPTIONS,
            "root": {"type": "path", "default": "/"},
            "verify_journal": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        result = gather(
            sources=params["sources"],
            since=params["since"],
            until=params["until"],
            root=params["root"],
            timezone=params["timezone"],
            year=params["year"],
            verify_journal=params["verify_journal"],
        )
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
