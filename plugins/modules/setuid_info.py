#!/usr/bin/python
# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: setuid_info
short_description: Find setuid and setgid files and files with capabilities, and check them against the package database
version_added: 0.1.0
description:
  - Walks every local filesystem mounted under O(root) and returns every regular file that is setuid, setgid, or
    carries file capabilities (the C(security.capability) extended attribute), with its owner, mode, times, sha256,
    capabilities in the text C(getcap) prints, the package that owns it and whether its content matches the package
    database.
  - B(Scope.) The filesystems come from the mount table (C(/proc/self/mountinfo), else C(/proc/mounts)). Pseudo
    filesystems (C(proc), C(sysfs), C(cgroup), C(devpts), C(debugfs), C(tracefs), C(securityfs), C(bpf),
    C(configfs), C(autofs), C(binfmt_misc), C(mqueue), C(hugetlbfs), C(efivarfs), C(nsfs), C(rpc_pipefs), ...),
    network filesystems (C(nfs), C(nfs4), C(cifs), C(smb3), C(sshfs), C(fuse.sshfs), C(9p), C(virtiofs), C(ceph),
    C(glusterfs), C(afs), ...) and C(devtmpfs) are skipped; every other type is scanned, including C(tmpfs) (C(/tmp),
    C(/dev/shm), C(/run)) and C(overlay). The filesystem holding O(root) or one of O(paths) is always scanned
    unless its type is in O(exclude_fstypes).
  - Each filesystem is walked once without crossing into other mounts, like C(find -xdev). A mount hidden under
    another one, and a bind mount of a subtree already walked through another mount of the same filesystem (same
    device, its root inside the other's), are skipped; RV(filesystems) lists every filesystem considered, scanned or
    not, with the reason for skipping it.
  - With O(root) other than C(/), only the mounts at or under O(root) are considered, plus the filesystem O(root) is
    on, which is walked from O(root).
  - B(Paths as text.) Linux paths are bytes; every path returned uses this lossless text form. Bytes that are not
    valid UTF-8 and control characters (0x00-0x1f, 0x7f) are written C(\xNN) with two lower-case hex digits (a
    newline is C(\x0a)), a backslash is written C(\\), everything else as is. So C(/tmp/a\x0ab) is the file
    C(a), newline, C(b) in C(/tmp), and C(/tmp/caf\xe9) the Latin-1 name C(caf) + byte 0xe9. O(paths) and O(exclude)
    are read in the same form.
  - B(Package verification.) dpkg systems are checked by reading C(var/lib/dpkg/info/*.list), C(*.md5sums) and
    C(var/lib/dpkg/diversions) under O(root) directly (no dpkg process, so an offline image works); listed paths
    are resolved through the image's directory symlinks (merged /usr lists C(/bin/su) for C(/usr/bin/su)). The
    package name is the name of the database file, as C(dpkg -S) prints it (C(libc6:amd64) for a Multi-Arch same
    package). rpm systems are checked with one batched C(rpm --root ROOT -qf) query of the owning packages' file
    digests.
  - Never follows symbolic links; never opens FIFOs, sockets or devices; only the matching regular files are
    read, opened with C(O_NOFOLLOW|O_NONBLOCK) (and C(O_NOATIME) when allowed, so atimes are kept) and checked to
    be the same inode that was examined. Files that vanish during the walk are counted in RV(stats.vanished).
author: fleetwatch developers (@fleetwatch)
extends_documentation_fragment:
  - fleetwatch.audit.root
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
  paths:
    description:
      - Limit the scan to these paths (directories or files) under O(root), instead of all of O(root).
      - Relative paths are taken from O(root). Symbolic links in these paths are resolved inside O(root).
      - The filesystems mounted under these paths are scanned too (by the same type rules), the others are listed
        in RV(filesystems) as not under any of O(paths).
    type: list
    elements: str
    default: []
  exclude:
    description:
      - Paths or shell glob patterns, relative to O(root), to skip.
      - A pattern without C(*), C(?) or C([) is a path; it excludes itself and everything below it.
      - Any other pattern is matched against the whole path (for example C(/home/*/.cache) or C(*.bak)); C(*) also
        matches C(/). A matching directory is not entered; a matching file is not reported.
      - A filesystem whose mount point is excluded is listed in RV(filesystems) as skipped.
    type: list
    elements: str
    default: []
  include_fstypes:
    description:
      - Filesystem types to scan although the default lists skip them, for example V(nfs4) to audit NFS mounts
        from this host.
      - A type may not be both in O(include_fstypes) and O(exclude_fstypes).
    type: list
    elements: str
    default: []
  exclude_fstypes:
    description:
      - Filesystem types to skip in addition to the default lists, for example V(tmpfs).
      - Applies to the filesystem holding O(root) too.
    type: list
    elements: str
    default: []
  checksum:
    description:
      - Compute the sha256 of each file found (only those are read).
      - With V(false), RV(files[].sha256) is null; package verification still reads the files.
    type: bool
    default: true
  package_check:
    description:
      - Look up the package that owns each file found and verify the file's digest against the package database.
    type: bool
    default: true
  capabilities:
    description:
      - Look for file capabilities (the C(security.capability) extended attribute) as well.
      - V(false) finds setuid and setgid files only, and the scan is faster.
    type: bool
    default: true
  max_errors:
    description:
      - At most this many errors are listed in RV(errors); all of them are counted in RV(stats.errors).
    type: int
    default: 100
notes:
  - Run it as root (C(become)) to see every directory; directories that cannot be read are listed in RV(errors).
  - The text of RV(files[].capabilities) is libcap's C(cap_to_text) as C(getcap) prints it (libcap 2.66), with the
    capability names up to C(cap_checkpoint_restore); bits above it are printed as numbers, as libcap does. The
    owner uid of namespaced (revision 3) capabilities, which C(getcap -n) shows, is in
    RV(files[].capabilities_rootid).
  - A file's own path is searched in the package database; a package file reached only through a symbolic link
    to the file is not matched.
  - See the collection's C(docs/modules/setuid_info.md) for the details and limits.
seealso:
  - module: fleetwatch.audit.baseline
  - name: find(1)
    description: C(find / -xdev -perm /6000 -type f) lists the setuid and setgid files of one filesystem.
    link: https://man7.org/linux/man-pages/man1/find.1.html
  - name: getcap(8)
    description: Prints file capabilities in the same text form.
    link: https://man7.org/linux/man-pages/man8/getcap.8.html
"""

EXAMPLES = r"""
- name: Find setuid, setgid and capability files on every local filesystem
  become: true
  fleetwatch.audit.setuid_info:
  register: setuid

- name: Show the files that no package owns or whose content differs from their package
  ansible.builtin.debug:
    msg: "{{ setuid.files | rejectattr('package_verified', 'true') | map(attribute='path') | list }}"

- name: Audit a disk image mounted read-only at /mnt/image, without checksums
  become: true
  fleetwatch.audit.setuid_info:
    root: /mnt/image
    checksum: false

- name: Only /usr and /opt, skipping a vendor tree, and scan NFS too
  become: true
  fleetwatch.audit.setuid_info:
    paths: [/usr, /opt]
    exclude: [/opt/vendor, "*/.snapshot"]
    include_fstypes: [nfs4]
"""

RETURN = r"""
root:
  description: The real path of O(root) that was scanned (in the path text form).
  returned: always
  type: str
  sample: /
files:
  description: Every setuid, setgid or capability-bearing regular file found, sorted by path.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: Path relative to O(root), in the path text form.
      type: str
      sample: /usr/bin/su
    kinds:
      description: Why the file is listed, among V(setuid), V(setgid) and V(capabilities), in that order.
      type: list
      elements: str
      sample: [setuid]
    mode:
      description: Permission bits as octal text, with the setuid, setgid and sticky digit.
      type: str
      sample: "4755"
    uid:
      description: Owner user id.
      type: int
      sample: 0
    user:
      description: Owner user name (from the image's C(etc/passwd) when O(root) is not C(/)), or null.
      type: str
      sample: root
    gid:
      description: Owner group id.
      type: int
      sample: 0
    group:
      description: Owner group name, or null.
      type: str
      sample: root
    size:
      description: Size in bytes.
      type: int
      sample: 72000
    mtime:
      description: Modification time, UTC, ISO 8601 to the second.
      type: str
      sample: "2026-11-27T00:13:23Z"
    ctime:
      description: Inode change time, UTC, ISO 8601 to the second.
      type: str
      sample: "2026-11-27T00:13:23Z"
    inode:
      description: Inode number.
      type: int
      sample: 1311306
    nlink:
      description: Number of hard links.
      type: int
      sample: 1
    filesystem:
      description: Mount point of the file's filesystem, relative to O(root).
      type: str
      sample: /
    fstype:
      description: Type of the file's filesystem.
      type: str
      sample: ext4
    nosuid:
      description: Whether the file's filesystem is mounted C(nosuid) (its setuid and setgid bits have no effect).
      type: bool
      sample: false
    world_writable:
      description: Whether anyone may write the file (mode o+w).
      type: bool
      sample: false
    parent_world_writable:
      description: Whether anyone may write the directory holding the file (mode o+w, sticky or not).
      type: bool
      sample: false
    sha256:
      description: SHA-256 of the content, or null when O(checksum=false) or the file could not be read.
      type: str
      sample: e4b97dcd03181d18345b30311542c057b732d21b31a67b7ad73af113487dfb26
    capabilities:
      description:
        - The file capabilities as C(getcap) prints them, or null without the attribute (or when it is malformed,
          which is listed in RV(errors)).
      type: str
      sample: cap_net_bind_service,cap_net_raw=ep
    capabilities_rootid:
      description: For namespaced (revision 3) capabilities, the root uid of their user namespace; else null.
      type: int
      sample: null
    package:
      description:
        - Name of the package that owns the file, or null. dpkg names are those of the database files
          (C(libc6:amd64) for a Multi-Arch same package); rpm names are C(%{NAME}).
      type: str
      sample: util-linux
    package_verified:
      description:
        - V(true) when the file's digest matches the package database, V(false) when it differs, null when no
          package owns the file or it cannot be checked (no digest recorded, file unreadable, O(package_check=false)).
      type: bool
      sample: true
filesystems:
  description:
    - Every filesystem at or under O(root) (and the one holding O(root)), scanned or not, sorted by mount point;
      of several mounts on one mount point, the hidden ones come first and the one on top last.
  returned: always
  type: list
  elements: dict
  contains:
    mount_point:
      description: Mount point relative to O(root) (C(/) for the filesystem holding O(root)).
      type: str
      sample: /
    fstype:
      description: Filesystem type.
      type: str
      sample: ext4
    source:
      description: Mount source (device or server path) as the mount table gives it.
      type: str
      sample: /dev/vda
    device:
      description: C(major:minor) of the filesystem, or null from C(/proc/mounts).
      type: str
      sample: "254:0"
    fs_root:
      description:
        - The directory of the filesystem mounted there (not C(/) for a bind mount of a subtree), or null from
          C(/proc/mounts).
      type: str
      sample: /
    nosuid:
      description: Whether the filesystem is mounted C(nosuid).
      type: bool
      sample: false
    scanned:
      description: Whether the filesystem was walked.
      type: bool
      sample: true
    reason:
      description: Why it was not scanned (pseudo or network filesystem, hidden, bind mount already scanned, excluded,
        not under O(paths), not readable), or null.
      type: str
      sample: pseudo filesystem (proc)
mount_table:
  description: The mount table read, C(/proc/self/mountinfo) or C(/proc/mounts), or null when neither could be read.
  returned: always
  type: str
  sample: /proc/self/mountinfo
package_db:
  description: The package database used for RV(files[].package) and RV(files[].package_verified).
  returned: always
  type: dict
  contains:
    type:
      description: V(dpkg), V(rpm), or null when none could be used.
      type: str
      sample: dpkg
    message:
      description: Why no database (or the rpm query) could be used, or null.
      type: str
      sample: null
stats:
  description: Counters of the walk.
  returned: always
  type: dict
  contains:
    directories:
      description: Directories listed.
      type: int
      sample: 36419
    files:
      description: Entries other than directories examined (regular files, symbolic links, devices, ...).
      type: int
      sample: 387779
    vanished:
      description: Files and directories that disappeared (or were replaced) between listing and examining them.
      type: int
      sample: 0
    errors:
      description: All errors, including those not listed in RV(errors).
      type: int
      sample: 0
    duration:
      description: Seconds the module's scan took.
      type: float
      sample: 2.31
errors:
  description: Errors met (unreadable directories, files that could not be read, ...), at most O(max_errors).
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: Path relative to O(root), in the path text form.
      type: str
      sample: /srv/private
    error:
      description: What failed and why.
      type: str
      sample: "open directory: Permission denied (EACCES)"
errors_truncated:
  description: Whether more errors happened than RV(errors) lists.
  returned: always
  type: bool
  sample: false
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleetwatch.audit.plugins.module_utils._setuid_scan import DEFAULT_MAX_ERRORS, scan


def main():
    module = AnsibleModule(
        argument_spec={
            "root": {"type": "path", "default": "/"},
            "paths": {"type": "list", "elements": "str", "default": []},
            "exclude": {"type": "list", "elements": "str", "default": []},
            "include_fstypes": {"type": "list", "elements": "str", "default": []},
            "exclude_fstypes": {"type": "list", "elements": "str", "default": []},
            "checksum": {"type": "bool", "default": True},
            "package_check": {"type": "bool", "default": True},
            "capabilities": {"type": "bool", "default": True},
            "max_errors": {"type": "int", "default": DEFAULT_MAX_ERRORS},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        result = scan(
            root=params["root"],
            paths=params["paths"],
            exclude=params["exclude"],
            include_fstypes=params["include_fstypes"],
            exclude_fstypes=params["exclude_fstypes"],
            checksum=params["checksum"],
            package_check=params["package_check"],
            capabilities=params["capabilities"],
            max_errors=params["max_errors"],
            run_command=module.run_command,
            rpm_bin=module.get_bin_path("rpm") or "",
        )
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
