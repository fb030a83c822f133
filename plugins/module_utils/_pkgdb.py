# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Which package owns a file, and the digest the package database recorded for it (private to the collection).

Only the files asked about are looked up. Paths are root-relative absolute bytes (``b"/usr/bin/su"``).

- dpkg: the database files under ``root`` are read directly (no dpkg process, so an offline image works):
  ``var/lib/dpkg/info/<package>.list`` (streamed, searched for the base names asked about only),
  ``<package>.md5sums`` of the owning packages, and ``var/lib/dpkg/diversions``. A listed path is resolved inside
  ``root`` through its directories' symbolic links, so ``/bin/su`` listed by a merged-/usr system is the file
  ``/usr/bin/su``. The package name is the database file's name, as ``dpkg -S`` prints it: ``libc-bin``, or
  ``libc6:amd64`` for a Multi-Arch: same package.
- rpm: one ``rpm --root ROOT -qf`` query for all the files, printing the owning packages' file names and digests.
"""

from __future__ import annotations

import errno
import os

DPKG_INFO = b"/var/lib/dpkg/info"
DPKG_DIVERSIONS = b"/var/lib/dpkg/diversions"
RPM_DBS = (b"/var/lib/rpm", b"/usr/lib/sysimage/rpm")
_RPM_MARK = "@@fleetwatch-pkg@@"
RPM_QUERYFORMAT = _RPM_MARK + "\\t%{NAME}\\t%{FILEDIGESTALGO}\\n[%{FILENAMES}\\t%{FILEDIGESTS}\\n]"
# rpm's PGPHASHALGO numbers (FILEDIGESTALGO); packages without the tag use MD5.
RPM_DIGEST_ALGOS = {"1": "md5", "2": "sha1", "8": "sha256", "9": "sha384", "10": "sha512", "11": "sha224"}


def _basename(path):
    return path.rpartition(b"/")[2]


def detect(view, rpm_bin):
    """Return ``(type, message)``: ``("dpkg", None)``, ``("rpm", None)`` or ``(None, why)``."""
    if view.isdir(DPKG_INFO):
        return "dpkg", None
    for rel in RPM_DBS:
        if view.isdir(rel) and view.listdir(rel):
            if rpm_bin:
                return "rpm", None
            return None, "rpm database at %s but no rpm command on this host" % rel.decode("utf-8", "replace")
    return None, "no package database under root (var/lib/dpkg/info, var/lib/rpm, usr/lib/sysimage/rpm)"


def parse_diversions(data):
    """Parse ``var/lib/dpkg/diversions`` (three lines each: path, diverted-to path, package or ``:``).

    Returns ``{path: (diverted_to, package)}``.
    """
    lines = data.split(b"\n")
    result = {}
    for i in range(0, len(lines) - 2, 3):
        if lines[i].startswith(b"/") and lines[i + 1].startswith(b"/"):
            result[lines[i]] = (lines[i + 1], lines[i + 2].decode("utf-8", "replace"))
    return result


def parse_md5sums(data, wanted):
    """Return ``{path: md5 hex}`` for the root-relative paths in ``wanted`` from a ``.md5sums`` file."""
    result = {}
    for line in data.split(b"\n"):
        if len(line) < 35 or line[32:34] != b"  ":
            continue
        path = b"/" + line[34:].lstrip(b"/")
        if path in wanted:
            result[path] = line[:32].decode("ascii", "replace").lower()
    return result


class _Matcher(object):
    """Find which of the wanted files a database's listed path designates."""

    def __init__(self, view, wanted, diversions=None):
        self.view = view
        self.wanted = set(wanted)
        self.diversions = diversions or {}
        self._resolved = {}
        self.needles = {}
        for rel in self.wanted:
            self.needles.setdefault(_basename(rel), set()).add(rel)
        for path, (to, _package) in self.diversions.items():
            if self.place(to) in self.wanted:
                self.needles.setdefault(_basename(path), set())

    def place(self, listed):
        """Where ``listed`` is on disk: its directories' links resolved inside root, the name itself not."""
        try:
            return self._resolved[listed]
        except KeyError:
            pass
        head, _sep, name = listed.rpartition(b"/")
        directory = self.view.resolve(head or b"/", follow_final=True)
        place = None if directory is None else (directory.rstrip(b"/") + b"/" + name)
        self._resolved[listed] = place
        return place

    def owner_place(self, listed, package):
        """The file ``package``'s listed path designates, with dpkg diversions applied, if wanted; else None."""
        diversion = self.diversions.get(listed)
        if diversion is not None and diversion[1] != package:
            listed = diversion[0]
        place = self.place(listed)
        return place if place in self.wanted else None

    def candidates(self, data):
        """Yield the lines of a file list (bytes ending with a newline) whose base name is wanted."""
        for name in self.needles:
            needle = b"/" + name + b"\n"
            pos = data.find(needle)
            while pos != -1:
                start = data.rfind(b"\n", 0, pos) + 1
                yield data[start : pos + len(needle) - 1]
                pos = data.find(needle, pos + 1)


def dpkg_lookup(view, wanted):
    """Return ``({path: (package, md5 or None)}, message)`` for the wanted root-relative paths."""
    diversions = parse_diversions(view.read_or_none(DPKG_DIVERSIONS) or b"")
    matcher = _Matcher(view, wanted, diversions)
    owners = {}
    info = view.resolve(DPKG_INFO, follow_final=True)
    names = sorted(n for n in os.listdir(view.host(info)) if n.endswith(b".list"))
    for name in names:
        package = name[:-5].decode("utf-8", "replace")
        data = view.read_or_none(info + b"/" + name)
        if not data:
            continue
        if not data.endswith(b"\n"):
            data += b"\n"
        for listed in matcher.candidates(data):
            place = matcher.owner_place(listed, package)
            if place is not None:
                owners.setdefault(place, []).append((package, listed))
    result = {}
    md5sums = {}
    for place, owned in owners.items():
        chosen = (owned[0][0], None)
        for package, listed in owned:
            if package not in md5sums:
                needed = {entry[1] for entries in owners.values() for entry in entries if entry[0] == package}
                data = view.read_or_none(info + b"/" + package.encode() + b".md5sums") or b""
                md5sums[package] = parse_md5sums(data, needed)
            digest = md5sums[package].get(listed)
            if digest is not None:
                chosen = (package, digest)
                break
        result[place] = chosen
    return result, "%d packages" % len(names)


def parse_rpm_output(text):
    """Parse the output of ``rpm -qf --qf RPM_QUERYFORMAT``: a list of ``(name, algo, [(path, digest)])``.

    Lines outside a package block (``file ... is not owned by any package``) are ignored.
    """
    packages = []
    current = None
    for line in text.split("\n"):
        if line.startswith(_RPM_MARK + "\t"):
            fields = line.split("\t")
            name = fields[1] if len(fields) > 1 else ""
            algo = fields[2].strip() if len(fields) > 2 else ""
            current = (name, RPM_DIGEST_ALGOS.get(algo, "md5" if algo in ("", "(none)") else None), [])
            packages.append(current)
            continue
        if current is None or "\t" not in line or not line.startswith("/"):
            continue
        path, _tab, digest = line.rpartition("\t")
        current[2].append((path.encode("utf-8", "surrogateescape"), digest.strip().lower()))
    return packages


def rpm_lookup(view, wanted, run_command, rpm_bin):
    """Return ``({path: (package, algo, digest or None)}, message)`` from one batched rpm query."""
    wanted = sorted(wanted)
    if not wanted:
        return {}, None
    root_text = view.root
    cmd = [rpm_bin, "--root", root_text, "-qf", "--qf", RPM_QUERYFORMAT]
    cmd.extend(rel.decode("utf-8", "surrogateescape") for rel in wanted)
    rc, out, err = run_command(cmd)
    packages = parse_rpm_output(out or "")
    if not packages and rc != 0 and "not owned by any package" not in (out or "") + (err or ""):
        first = (err or out or "").strip().split("\n")[0]
        return {}, "rpm query failed (rc=%s): %s" % (rc, first[:200])
    matcher = _Matcher(view, wanted)
    result = {}
    for name, algo, files in packages:
        listed = dict(files)
        data = b"\n".join(listed) + b"\n"
        for path in matcher.candidates(data):
            place = matcher.owner_place(path, name)
            if place is not None and place not in result:
                result[place] = (name, algo, listed.get(path) or None)
    return result, None


def run_command_default(cmd):
    """A minimal ``module.run_command`` for callers without an AnsibleModule (benchmarks, tests)."""
    import subprocess

    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    except OSError as exc:
        return 127, "", "%s: %s" % (cmd[0], os.strerror(exc.errno or errno.ENOENT))
    out, err = proc.communicate()
    return proc.returncode, out.decode("utf-8", "surrogateescape"), err.decode("utf-8", "surrogateescape")
