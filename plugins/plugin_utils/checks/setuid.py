# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ``setuid`` check: setuid/setgid files and file capabilities found by ``setuid_info``.

Every severity rule is explained in docs/findings.md.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from fnmatch import fnmatchcase

from ansible_collections.fleetwatch.audit.plugins.plugin_utils.checks.base import Check, NotAbsorbable
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.findings import make_finding, max_severity

FILE_FIELDS = (
    "path",
    "kinds",
    "mode",
    "uid",
    "user",
    "gid",
    "group",
    "size",
    "mtime",
    "ctime",
    "sha256",
    "capabilities",
    "package",
    "package_verified",
    "filesystem",
    "fstype",
    "nosuid",
    "world_writable",
    "parent_world_writable",
)
FILESYSTEM_FIELDS = ("mount_point", "fstype", "source", "nosuid", "scanned", "reason")
# Timestamps change on every reinstall or touch: kept for ``since``, never compared, never part of a finding id.
VOLATILE = ("mtime", "ctime")
LOCATION_FIELDS = ("filesystem", "fstype", "nosuid", "parent_world_writable")
MAX_ERRORS_KEPT = 20
PACKAGE_DB = "package database"
SCAN_ERRORS = "scan errors"
# Rules of the findings (docs/findings.md); apply_accept decides by them.
NEW_FILE, FILE_CHANGED, FILE_REMOVED = "new_file", "file_changed", "file_removed"
FILESYSTEM_UNSCANNED, PACKAGE_DB_CHANGED, SCAN_ERRORS_RULE = "filesystem_unscanned", "package_db_changed", "scan_errors"
_KIND_LABELS = {"setuid": "setuid", "setgid": "setgid", "capabilities": "capability", "caps": "capability"}


def _what(entry: dict) -> str:
    labels = [_KIND_LABELS.get(kind, str(kind)) for kind in entry.get("kinds") or []]
    return f"{'/'.join(labels)} file" if labels else "file"


def _owner(entry: dict) -> str:
    def name(label, number):
        return f"{label}({number})" if label not in (None, "") else str(number)

    return f"{name(entry.get('user'), entry.get('uid'))}:{name(entry.get('group'), entry.get('gid'))}"


def _value(value: object) -> str:
    """A field value in a summary: ``none``, ``true``/``false`` as in the JSON data, else as is."""
    if value is None or isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _short(digest: str | None) -> str:
    return f"{digest[:12]}…" if digest else "none"


def _describe(entry: dict, package: bool = True) -> str:
    parts = [f"mode {entry.get('mode')}", f"owner {_owner(entry)}"]
    if entry.get("capabilities"):
        parts.append(f"capabilities {entry['capabilities']}")
    if package:
        parts.append(f"package {entry['package']}" if entry.get("package") else "no package")
    return ", ".join(parts)


def _stable(entry: dict) -> dict:
    return {key: value for key, value in entry.items() if key not in VOLATILE}


def _since(entry: dict) -> str | None:
    return entry.get("ctime") or entry.get("mtime")


def _added_severity(entry: dict) -> tuple[str, str]:
    """Severity of a new file and the reason, in the words of the summary."""
    package, verified = entry.get("package"), entry.get("package_verified")
    if entry.get("fstype") == "tmpfs":
        return "critical", "on a tmpfs filesystem, where no installed program lives"
    if entry.get("parent_world_writable") or entry.get("world_writable"):
        return "critical", "in a world-writable location"
    if not package:
        return "critical", "owned by no package"
    if verified is True:
        return "medium", f"from package {package}, verified: a new package was installed"
    if verified is False:
        return "critical", f"claims package {package} but fails the package's verification"
    return "high", f"from package {package}, which could not be verified"


def _content_rule(old: dict, new: dict) -> tuple[str, str, tuple]:
    change = f"content changed (sha256 {_short(old.get('sha256'))} → {_short(new.get('sha256'))})"
    package, verified = new.get("package"), new.get("package_verified")
    fields = ("sha256", "size", "package", "package_verified")
    if verified is True:
        return "info", f"{change}, verified against package {package}: a package upgrade", fields
    if package:
        state = "fails" if verified is False else "could not be checked against"
        return "critical", f"{change} and {state} package {package}'s checksums", fields
    return "critical", f"{change} and no package owns it", fields


def _change_rules(old: dict, new: dict) -> list[tuple[str, str, tuple]]:
    """Each change between two entries of one path: (severity, clause, fields)."""
    rules = []

    def changed(*fields):
        return any(old.get(field) != new.get(field) for field in fields)

    def transition(field):
        return f"{_value(old.get(field))} → {_value(new.get(field))}"

    # Without a checksum on both sides (checksum option off), only the size tells the content changed.
    both_summed = old.get("sha256") is not None and new.get("sha256") is not None
    content_changed = changed("sha256", "size") if both_summed else changed("size")
    if content_changed:
        rules.append(_content_rule(old, new))
    if changed("mode"):
        rules.append(("high", f"mode {transition('mode')}", ("mode",)))
    if changed("uid", "gid"):
        rules.append(("high", f"owner {_owner(old)} → {_owner(new)}", ("uid", "user", "gid", "group")))
    elif changed("user", "group"):
        rules.append(("low", f"owner name {_owner(old)} → {_owner(new)} (same ids)", ("user", "group")))
    if changed("capabilities"):
        rules.append(("high", f"capabilities {transition('capabilities')}", ("capabilities",)))
    if not content_changed:
        if changed("package"):
            rules.append(("low", f"owning package {transition('package')}", ("package",)))
        if old.get("package_verified") is True and new.get("package_verified") is not True:
            clause = f"package verification true → {_value(new.get('package_verified'))} with unchanged content"
            rules.append(("high", f"{clause}: the package database changed", ("package_verified",)))
        elif changed("package_verified"):
            rules.append(("info", f"package verification {transition('package_verified')}", ("package_verified",)))
    if changed(*LOCATION_FIELDS):
        exposed = new.get("fstype") == "tmpfs" or (
            new.get("parent_world_writable") and not old.get("parent_world_writable")
        )
        where = ", ".join(f"{field} {transition(field)}" for field in LOCATION_FIELDS if changed(field))
        rules.append(("high" if exposed else "medium", f"location {where}", LOCATION_FIELDS))
    return rules


class SetuidCheck(Check):
    """New, changed and removed setuid/setgid/capability files, and gaps in what was scanned."""

    name = "setuid"
    module = "setuid_info"
    knobs = {"ignore_paths": []}

    def normalize(self, result: dict) -> dict:
        if not isinstance(result.get("files"), list):
            raise ValueError("no 'files' list")
        files = {}
        for entry in result["files"]:
            if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
                raise ValueError(f"file entry without a path: {entry!r:.200}")
            item = {field: entry.get(field) for field in FILE_FIELDS}
            item["kinds"] = sorted(str(kind) for kind in item["kinds"] or [])
            files[entry["path"]] = item
        filesystems = {}
        for mount in result.get("filesystems") or []:
            if not isinstance(mount, dict) or not isinstance(mount.get("mount_point"), str):
                raise ValueError(f"filesystem entry without a mount point: {mount!r:.200}")
            # The last entry for a mount point is the mount on top, the one a path resolves to.
            filesystems[mount["mount_point"]] = {field: mount.get(field) for field in FILESYSTEM_FIELDS}
        package_db = result.get("package_db") or {}
        errors = list(result.get("errors") or [])
        error_count = (result.get("stats") or {}).get("errors")
        return {
            "root": result.get("root"),
            "files": files,
            "filesystems": filesystems,
            "package_db": {"type": package_db.get("type"), "message": package_db.get("message")},
            "error_count": error_count if isinstance(error_count, int) else len(errors),
            "errors": errors[:MAX_ERRORS_KEPT],
        }

    def inventory(self, current: dict) -> str:
        files = current["files"].values()
        kinds = {kind: sum(1 for f in files if kind in f["kinds"]) for kind in ("setuid", "setgid", "capabilities")}
        unowned = sum(1 for f in files if not f.get("package"))
        failing = sum(1 for f in files if f.get("package_verified") is False)
        scanned = sum(1 for fs in current["filesystems"].values() if fs.get("scanned"))
        skipped = len(current["filesystems"]) - scanned
        return (
            f"{len(files)} files ({kinds['setuid']} setuid, {kinds['setgid']} setgid, "
            f"{kinds['capabilities']} with capabilities; {unowned} owned by no package, {failing} failing their "
            f"package checksums) on {scanned} filesystems ({skipped} skipped), {current['error_count']} scan errors"
        )

    def _ignored(self, context) -> list[str]:
        return list(self.knob(context, "ignore_paths"))

    def diff(self, host: str, baseline: dict, current: dict, context) -> list[dict]:
        ignore = self._ignored(context)
        old_files, new_files = baseline["files"], current["files"]
        findings = []
        for path in sorted(set(old_files) | set(new_files)):
            if any(fnmatchcase(path, pattern) for pattern in ignore):
                continue
            old, new = old_files.get(path), new_files.get(path)
            if old is None:
                findings.append(self._added(host, new))
            elif new is None:
                findings.append(self._removed(host, old))
            else:
                findings.extend(self._changed(host, old, new))
        findings.extend(self._coverage(host, baseline, current))
        return findings

    def _added(self, host: str, new: dict) -> dict:
        severity, reason = _added_severity(new)
        # The reason names the package (or its absence), so the description leaves it out.
        summary = f"{host}: new {_what(new)} {new['path']} ({_describe(new, package=False)}), {reason}"
        return make_finding(
            host,
            self.name,
            "added",
            severity,
            new["path"],
            summary,
            after=_stable(new),
            since=_since(new),
            rule=NEW_FILE,
        )

    def _removed(self, host: str, old: dict) -> dict:
        summary = (
            f"{host}: {_what(old)} {old['path']} ({_describe(old)}) is gone: removed, "
            "or no longer setuid/setgid or capability-bearing"
        )
        before = _stable(old)
        return make_finding(host, self.name, "removed", "low", old["path"], summary, before=before, rule=FILE_REMOVED)

    def _changed(self, host: str, old: dict, new: dict) -> list[dict]:
        rules = _change_rules(old, new)
        if not rules:
            return []
        fields = [field for field in FILE_FIELDS if any(field in rule[2] for rule in rules)]
        summary = f"{host}: {_what(new)} {new['path']} changed: {'; '.join(rule[1] for rule in rules)}"
        return [
            make_finding(
                host,
                self.name,
                "changed",
                max_severity(rule[0] for rule in rules),
                new["path"],
                summary,
                before={field: old.get(field) for field in fields},
                after={field: new.get(field) for field in fields},
                since=_since(new),
                rule=FILE_CHANGED,
            )
        ]

    def _coverage(self, host: str, baseline: dict, current: dict) -> list[dict]:
        findings = []
        for mount_point, old in sorted(baseline["filesystems"].items()):
            new = current["filesystems"].get(mount_point)
            if not old.get("scanned") or (new and new.get("scanned")):
                continue
            reason = (new.get("reason") or "no reason given") if new else "no longer mounted"
            summary = (
                f"{host}: filesystem {mount_point} ({old.get('fstype')}) was scanned for setuid files "
                f"in the baseline but not now: {reason}"
            )
            after = {"scanned": False, "fstype": new.get("fstype"), "reason": reason} if new else None
            findings.append(
                make_finding(
                    host,
                    self.name,
                    "coverage",
                    "medium",
                    mount_point,
                    summary,
                    before={"scanned": True, "fstype": old.get("fstype")},
                    after=after,
                    rule=FILESYSTEM_UNSCANNED,
                )
            )
        old_db, new_db = baseline["package_db"], current["package_db"]
        if old_db.get("type") and new_db.get("type") != old_db.get("type"):
            now = f"{new_db.get('type')} now" if new_db.get("type") else "unavailable now"
            summary = (
                f"{host}: the package database was {old_db['type']} in the baseline and is {now} "
                f"({new_db.get('message') or 'no message'}): setuid files cannot be verified against it"
            )
            findings.append(
                make_finding(
                    host,
                    self.name,
                    "coverage",
                    "medium",
                    PACKAGE_DB,
                    summary,
                    before=old_db,
                    after=new_db,
                    rule=PACKAGE_DB_CHANGED,
                )
            )
        if current["error_count"]:
            # A blind spot the baseline scan had too is known, not drift: info; a new one is low.
            known = baseline.get("error_count") or 0
            first = current["errors"][0] if current["errors"] else "not reported"
            summary = (
                f"{host}: {current['error_count']} errors while scanning for setuid files "
                f"(baseline scan: {known}), so some files may not have been checked; first: {first}"
            )
            after = {"count": current["error_count"], "errors": current["errors"]}
            severity = "info" if known else "low"
            findings.append(
                make_finding(
                    host, self.name, "coverage", severity, SCAN_ERRORS, summary, after=after, rule=SCAN_ERRORS_RULE
                )
            )
        return findings

    def apply_accept(self, baseline: dict, current: dict, finding: dict) -> dict:
        result = copy.deepcopy(baseline)
        rule, subject = finding["rule"], finding["subject"]
        if rule in (NEW_FILE, FILE_CHANGED):
            if subject not in current["files"]:
                raise NotAbsorbable(f"{subject} is not in the observed data any more")
            result["files"][subject] = copy.deepcopy(current["files"][subject])
        elif rule == FILE_REMOVED:
            result["files"].pop(subject, None)
        elif rule == PACKAGE_DB_CHANGED:
            result["package_db"] = copy.deepcopy(current["package_db"])
        elif rule == FILESYSTEM_UNSCANNED and subject in current["filesystems"]:
            result["filesystems"][subject] = copy.deepcopy(current["filesystems"][subject])
        elif rule == FILESYSTEM_UNSCANNED and subject in baseline["filesystems"]:
            del result["filesystems"][subject]
        else:
            raise NotAbsorbable(
                f"a {finding['kind']} finding on {subject} (rule {rule}) cannot be absorbed into the baseline: "
                "fix its cause, or suppress it with an allow rule"
            )
        return result

    def fleet_observations(self, host: str, current: dict, context) -> Iterable[tuple]:
        ignore = self._ignored(context)
        for path, entry in sorted(current["files"].items()):
            if any(fnmatchcase(path, pattern) for pattern in ignore):
                continue
            yield ("setuid-path", path)
            if entry.get("sha256"):
                yield ("setuid-digest", path, entry.get("package"), entry["sha256"])

    def observation_text(self, observation: tuple) -> str:
        if observation[0] == "setuid-path":
            return f"{observation[1]} is setuid/setgid or capability-bearing"
        path, package, sha256 = observation[1:]
        owner = f"package {package}" if package else "no package"
        return f"{path} ({owner}) has sha256 {_short(sha256)}"
