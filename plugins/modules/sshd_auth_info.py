#!/usr/bin/python
# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: sshd_auth_info
short_description: Count failed and accepted SSH logins in sshd's logs, per source, user and kind
version_added: 0.1.0
description:
  - Reads sshd's authentication messages from the host's logs and returns the failed attempts aggregated by source
    address, user and kind, the accepted logins aggregated by user, source, method and key fingerprint, totals, and
    the host's local user names. It never changes anything; the judgement (a failed login from one of your own
    machines, an unknown user tried from inside, a new login path) is made on the controller by the C(sshd_auth)
    check, not here.
  - B(Sources.) By default the systemd journal's entries of C(sshd), C(sshd-session) and C(sshd-auth) (by
    C(SYSLOG_IDENTIFIER), and of the C(ssh.service)/C(sshd.service) units) when the journal has files, and the files
    C(/var/log/auth.log) and C(/var/log/secure) with their rotations (C(/var/log/messages) only when neither exists).
    When both the journal and files are read, the files are read only up to the journal's first sshd entry, so that
    an event logged to both is counted once. O(sources) replaces this list (then every source is read in full, in
    the order given; give older sources first).
  - B(Messages.) Every failure form OpenSSH has logged from 5.x to 10.x is understood, under the program names
    C(sshd), C(sshd-session) (OpenSSH 9.8+), C(sshd-auth) (10.0+) and sshd(pam_unix) (old PAM syslog) - invalid and
    illegal users, C(Failed <method>) for every method, connections closed or cut during authentication, users not
    allowed by AllowUsers/DenyUsers/AllowGroups/DenyGroups, maximum authentication attempts, too many
    authentication failures, C(ROOT LOGIN REFUSED), the PAM lines (pam_unix(sshd:auth), C(PAM N more
    authentication failures), sshd's own PAM errors) and C(message repeated N times) (counted N times); and the
    C(Accepted) logins with their key type and fingerprint. The collection's C(docs/modules/sshd_auth_info.md) lists
    every form.
  - B(What counts.) The lines of one connection share sshd's process id (C(sshd[PID]) in syslog, C(_PID) in the
    journal); they are correlated so that one attempt logged by several lines counts once. An attempt is one failed
    try (each C(Failed) line; a connection that failed without any counts once). C(Failed publickey)/C(none)/
    C(hostbased) lines of a connection that then logs in are a client offering its keys, not failures. The kinds
    and what each counts are in RV(failures[].kind).
  - B(Addresses.) IPv4, IPv6 (compressed form), IPv4-mapped IPv6 (C(::ffff:192.0.2.7) is C(192.0.2.7)); host names
    (sshd with C(UseDNS yes)) are kept as names. Sources in O(internal_networks) are C(internal).
  - B(Bounded.) An internet-facing host sees attempts from hundreds of thousands of addresses. Internal sources are
    always listed; external ones beyond the O(top_external) with the most attempts are unlisted (counted in the
    C(folded_*) figures of RV(totals) only), and
    each listed external source has at most O(max_entries_per_source) entries (the rest in one entry of kind
    V(other)). Memory stays bounded whatever the log size or the number of sources.
  - B(User names) are chosen by whoever connects. They are returned losslessly in the collection's path text form
    (bytes that are not UTF-8 and control characters such as ANSI escapes as C(\\xNN), a backslash doubled), cut at
    O(max_user_length) bytes with the marker C(\\...[N bytes]) that no real name's text form contains. A user name
    never moves the source address, since sshd prints the address last and the parser anchors it there.
  - B(Speed.) Files are searched in blocks by one regular expression (the per-line work happens in C); big
    uncompressed files are split among worker processes, one per CPU (at most 4). Times without a year (traditional
    syslog timestamps) take the year of the file's last line, from its modification time or O(year).
  - The host's local user names (from C(etc/passwd) below O(root)) are returned in RV(local_users), for the
    controller to tell a failure for a user that exists nowhere in the fleet.
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
  internal_networks:
    description:
      - Networks (CIDR) whose sources are internal - never unlisted, always listed with every user.
      - The controller's C(sshd_auth) check has its own list (the policy's C(internal_networks) and the inventory's
        addresses); this one only decides what the module lists.
    type: list
    elements: str
    default: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, 127.0.0.0/8, "::1/128", "fc00::/7", "fe80::/10"]
  top_external:
    description:
      - External sources listed one by one (those with the most attempts); the others are unlisted, counted in
        RV(totals) only.
    type: int
    default: 200
  max_entries_per_source:
    description:
      - Entries (user and kind) listed for one external source, the most frequent first; the rest of its failures
        make one entry of kind V(other). V(0) lists them all.
    type: int
    default: 20
  max_user_length:
    description:
      - Bytes of a user name kept; a longer name is cut and marked (see the description).
    type: int
    default: 100
notes:
  - Run it with C(become) to read logs only root can read; a source that cannot be read is reported with its error.
  - Syslog lines can be written by any local user (C(logger -t sshd)); the journal records the real process of each
    entry. On a host where this matters, read the journal.
seealso:
  - module: fleetwatch.audit.log_rate_info
  - module: fleetwatch.audit.setuid_info
"""

EXAMPLES = r"""
- name: Failed and accepted SSH logins of the last eight days
  fleetwatch.audit.sshd_auth_info:
  become: true
  register: sshd_auth

- name: Failures from our own networks
  ansible.builtin.debug:
    msg: "{{ sshd_auth.failures | selectattr('internal') | list }}"

- name: A month of the auth log only, traditional timestamps read as Berlin time, our networks given
  fleetwatch.audit.sshd_auth_info:
    sources:
      - path: /var/log/auth.log
    since: 30d
    timezone: Europe/Berlin
    internal_networks: [10.0.0.0/8, 2001:db8::/32]
  become: true

- name: An offline disk image mounted on /mnt/image, logs copied in 2024
  fleetwatch.audit.sshd_auth_info:
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
  sample: UTC
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
  description: When the logs were read (UTC).
  returned: always
  type: str
  sample: "2025-10-01T10:17:42Z"
discovered:
  description: True when the sources come from the default discovery, false when from O(sources).
  returned: always
  type: bool
  sample: true
internal_networks:
  description: The internal networks used (normalised CIDR).
  returned: always
  type: list
  elements: str
  sample: ["10.0.0.0/8", "127.0.0.0/8"]
failures:
  description:
    - Failed authentication, aggregated by source, user, kind and whether the user exists, most frequent first.
  returned: always
  type: list
  elements: dict
  contains:
    source:
      description: The source address (normalised), or a host name when sshd logged one.
      type: str
      sample: 203.0.113.9
    user:
      description: The user name tried, in the path text form, cut at O(max_user_length); null for kind V(other).
      type: str
      sample: admin
    invalid_user:
      description: True when sshd (or PAM) said the user does not exist; null for kind V(other).
      type: bool
      sample: true
    kind:
      description:
        - V(invalid_user) - connections naming a user that does not exist (C(Invalid user)/C(Illegal user), once
          per connection).
        - V(failed_password), V(failed_publickey), V(failed_keyboard_interactive), V(failed_hostbased),
          V(failed_none), V(failed_gssapi), V(failed_other) (with C(method)) - each failed try (C(Failed <method>)
          lines; C(message repeated N times) is N).
        - V(not_allowed) - connections refused by AllowUsers, DenyUsers, AllowGroups, DenyGroups, a missing shell or
          a locked account.
        - V(root_refused) - C(ROOT LOGIN REFUSED).
        - V(too_many_failures) - connections cut after too many failures (once, even when sshd logs both of its
          messages).
        - V(pam_failure) - failures only PAM logged (no C(Failed) line of the connection), each counted failure.
        - V(closed_preauth) - connections of a named user closed during authentication with no other failure logged
          (a client that tried keys sshd does not log at its log level, or gave up).
        - V(other) - the failures of a listed external source beyond its O(max_entries_per_source) entries, or whose
          detail was not kept to bound memory (an entry is listed only when it counts every event of its user and
          kind, so that its count, first and last times are true).
        - Kinds overlap - one password tried for an unknown user is one V(invalid_user) and one V(failed_password).
      type: str
      sample: failed_password
    count:
      description: How many (see RV(failures[].kind)).
      type: int
      sample: 12
    internal:
      description: True when the source is in O(internal_networks).
      type: bool
      sample: false
    first_seen:
      description: Time of the first line counted (UTC), in reading order.
      type: str
      sample: "2025-09-24T03:11:08Z"
    last_seen:
      description: Time of the last line counted (UTC).
      type: str
      sample: "2025-09-30T22:40:51Z"
    method:
      description: The method named by the client, for kind V(failed_other) only.
      type: str
      sample: gssapi-keyex
accepted:
  description: Accepted logins, aggregated by user, source, method and key fingerprint.
  returned: always
  type: list
  elements: dict
  contains:
    user:
      description: The user logged in.
      type: str
      sample: deploy
    source:
      description: The source address (normalised) or host name.
      type: str
      sample: 10.0.3.17
    internal:
      description: True when the source is in O(internal_networks).
      type: bool
      sample: true
    method:
      description: The method (C(publickey), C(password), C(keyboard-interactive/pam), ...).
      type: str
      sample: publickey
    key_type:
      description: The key type for key and certificate logins (C(ED25519), C(RSA-CERT), ...), else null.
      type: str
      sample: ED25519
    fingerprint:
      description: The key's fingerprint (C(SHA256:...)) for key and certificate logins, else null.
      type: str
      sample: "SHA256:Jk8f2kS9d0aLx3mQ7pVb1nYc5tRzUu0vWw2xXy3zAbC"
    count:
      description: Logins.
      type: int
      sample: 41
    first_seen:
      description: Time of the first login (UTC).
      type: str
      sample: "2025-09-23T10:02:11Z"
    last_seen:
      description: Time of the last login (UTC).
      type: str
      sample: "2025-09-30T18:44:09Z"
totals:
  description: Totals over every source, listed or unlisted.
  returned: always
  type: dict
  contains:
    attempts:
      description: Failed attempts (see the description).
      type: int
      sample: 1234
    by_kind:
      description: Counts per kind (RV(failures[].kind)).
      type: dict
      sample: {"failed_password": 1100, "invalid_user": 800}
    sources:
      description: Distinct sources of failures.
      type: int
      sample: 56
    internal_sources:
      description: Distinct internal sources of failures.
      type: int
      sample: 3
    internal_attempts:
      description: Attempts from internal sources.
      type: int
      sample: 4
    folded_sources:
      description: Unlisted external sources (beyond O(top_external)), counted in the totals only.
      type: int
      sample: 0
    folded_attempts:
      description: Their attempts.
      type: int
      sample: 0
    folded_events:
      description: Their kind counts (as RV(totals.by_kind) counts them).
      type: int
      sample: 0
    sources_with_other:
      description: Listed sources with an entry of kind V(other).
      type: int
      sample: 0
    auth_lines:
      description: sshd lines read that are about authentication (the forms this module understands).
      type: int
      sample: 5012
    lines:
      description: Lines read (files) and journal entries read.
      type: int
      sample: 1523044
    unparsed:
      description:
        - sshd lines that start like an authentication message but are none of the forms understood (a new OpenSSH
          wording would show here).
      type: int
      sample: 0
    unparsed_samples:
      description: Up to ten of them, in the path text form.
      type: list
      elements: str
      sample: []
    accepted:
      description: Accepted logins.
      type: int
      sample: 12
    accepted_folded:
      description: Unlisted accepted logins (the memory bound of 20,000 distinct logins), counted in the totals only.
      type: int
      sample: 0
    accepted_users:
      description: Distinct users of the listed accepted logins.
      type: int
      sample: 3
local_users:
  description: The names of the local users in C(etc/passwd) below O(root), sorted.
  returned: always
  type: list
  elements: str
  sample: [daemon, deploy, root]
local_users_error:
  description: Why C(etc/passwd) could not be read, else null.
  returned: always
  type: str
  sample: null
sources:
  description:
    - One entry per source read, in the order read - C(name), C(kind) (V(file) or V(journal)), C(path), C(lines),
      C(auth_lines), C(first_event), C(last_event), C(error) and, for a file source, C(files) (per file - C(path),
      C(compression), C(size), C(mtime), C(lines), C(auth_lines), C(outside_window), C(first_event),
      C(last_event), C(year), C(skipped), C(error)) and C(journal_cut) (the time up to which it was read, when the
      journal holds what follows); for the journal, journalctl's C(warnings) and the fields of
      M(fleetwatch.audit.log_rate_info)'s journal sources.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "/var/log/auth.log", "kind": "file", "path": "/var/log/auth.log", "lines": 52311,
            "auth_lines": 4411, "first_event": "2025-09-23T00:00:02Z", "last_event": "2025-10-01T10:17:40Z",
            "files": [], "error": null}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.options import LOG_SOURCE_OPTIONS
from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_parse import DEFAULT_INTERNAL_NETWORKS
from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_scan import gather


def main():
    module = AnsibleModule(
        argument_spec={
            **LOG_SOURCE_OPTIONS,
            "root": {"type": "path", "default": "/"},
            "internal_networks": {"type": "list", "elements": "str", "default": list(DEFAULT_INTERNAL_NETWORKS)},
            "top_external": {"type": "int", "default": 200},
            "max_entries_per_source": {"type": "int", "default": 20},
            "max_user_length": {"type": "int", "default": 100},
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
            internal_networks=params["internal_networks"],
            top_external=params["top_external"],
            max_entries_per_source=params["max_entries_per_source"],
            max_user_length=params["max_user_length"],
        )
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
