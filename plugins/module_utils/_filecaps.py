# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Decode the ``security.capability`` extended attribute into the text ``getcap`` prints (private).

The attribute is ``struct vfs_cap_data`` (linux/capability.h), little-endian:
``magic_etc`` (revision in the top byte, bit 0 = effective), then per 32-bit block ``permitted``, ``inheritable``:
revision 1 has one block (12 bytes), revision 2 two (20 bytes), revision 3 two plus ``rootid`` (24 bytes, the
owner uid of the user namespace the capabilities apply in). As in libcap, the effective set is
``permitted | inheritable`` when the effective bit is set, else empty.

:func:`caps_to_text` is libcap's ``cap_to_text`` (libcap 2.66), with the named capabilities up to
``cap_checkpoint_restore`` (40): higher bits are printed as numbers, as libcap does for bits the kernel does not name.
"""

from __future__ import annotations

import struct

XATTR_NAME = "security.capability"
CAP_NAMES = (
    "cap_chown",
    "cap_dac_override",
    "cap_dac_read_search",
    "cap_fowner",
    "cap_fsetid",
    "cap_kill",
    "cap_setgid",
    "cap_setuid",
    "cap_setpcap",
    "cap_linux_immutable",
    "cap_net_bind_service",
    "cap_net_broadcast",
    "cap_net_admin",
    "cap_net_raw",
    "cap_ipc_lock",
    "cap_ipc_owner",
    "cap_sys_module",
    "cap_sys_rawio",
    "cap_sys_chroot",
    "cap_sys_ptrace",
    "cap_sys_pacct",
    "cap_sys_admin",
    "cap_sys_boot",
    "cap_sys_nice",
    "cap_sys_resource",
    "cap_sys_time",
    "cap_sys_tty_config",
    "cap_mknod",
    "cap_lease",
    "cap_audit_write",
    "cap_audit_control",
    "cap_setfcap",
    "cap_mac_override",
    "cap_mac_admin",
    "cap_syslog",
    "cap_wake_alarm",
    "cap_block_suspend",
    "cap_audit_read",
    "cap_perfmon",
    "cap_bpf",
    "cap_checkpoint_restore",
)
MAX_BITS = 64  # two 32-bit blocks
_REVISION_MASK = 0xFF000000
_FLAG_EFFECTIVE = 0x000001
_REVISIONS = {0x01000000: (1, 12), 0x02000000: (2, 20), 0x03000000: (3, 24)}
_EFF, _PER, _INH = 1, 2, 4  # libcap.h: LIBCAP_EFF, LIBCAP_PER, LIBCAP_INH


class FileCaps(object):
    """Decoded file capabilities: bit masks of the three sets, the revision and the v3 rootid (else None)."""

    __slots__ = ("effective", "inheritable", "permitted", "revision", "rootid")

    def __init__(self, permitted, inheritable, effective, revision, rootid=None):
        self.permitted = permitted
        self.inheritable = inheritable
        self.effective = effective
        self.revision = revision
        self.rootid = rootid

    def text(self):
        return caps_to_text(self.permitted, self.inheritable, self.effective)


def decode_vfs_cap(data):
    """Decode the raw attribute (bytes); raise ValueError when it is not a valid vfs_cap_data."""
    if len(data) < 4:
        raise ValueError("security.capability too short (%d bytes)" % len(data))
    (magic,) = struct.unpack_from("<I", data)
    revision = _REVISIONS.get(magic & _REVISION_MASK)
    if revision is None:
        raise ValueError("security.capability has unknown revision 0x%08x" % magic)
    number, size = revision
    if len(data) != size:
        raise ValueError("security.capability revision %d must be %d bytes, not %d" % (number, size, len(data)))
    blocks = 1 if number == 1 else 2
    permitted = inheritable = 0
    for block in range(blocks):
        perm, inh = struct.unpack_from("<II", data, 4 + 8 * block)
        permitted |= perm << (32 * block)
        inheritable |= inh << (32 * block)
    effective = (permitted | inheritable) if magic & _FLAG_EFFECTIVE else 0
    rootid = struct.unpack_from("<I", data, 20)[0] if number == 3 else None
    return FileCaps(permitted, inheritable, effective, number, rootid)


def _flags(state):
    return ("e" if state & _EFF else "") + ("i" if state & _INH else "") + ("p" if state & _PER else "")


def _name(bit):
    return CAP_NAMES[bit] if bit < len(CAP_NAMES) else str(bit)


NAMED_BITS = len(CAP_NAMES)


def caps_to_text(permitted, inheritable, effective, named_bits=NAMED_BITS):
    """Return the text libcap's ``cap_to_text`` (and so ``getcap``) prints for these three bit masks."""

    def state(bit):
        return (
            (_EFF if effective >> bit & 1 else 0)
            | (_INH if inheritable >> bit & 1 else 0)
            | (_PER if permitted >> bit & 1 else 0)
        )

    states = [state(bit) for bit in range(MAX_BITS)]
    histo = [0] * 8
    for bit in range(named_bits):
        histo[states[bit]] += 1
    most = 7  # the most common state is the default ("=..."), preferring "no bit set" on ties
    for candidate in range(6, -1, -1):
        if histo[candidate] >= histo[most]:
            most = candidate
    buf = "=" + _flags(most)
    base = 0
    for current in range(7, -1, -1):
        if current == most or not histo[current]:
            continue
        names = ",".join(_name(bit) for bit in range(named_bits) if states[bit] == current)
        buf += " " + names
        raised = current & ~most
        if raised:
            op = "+"
            if buf[base : base + 2] == "= ":  # "= a,b+ep" is written "a,b=ep"
                base += 2
                op = "="
            buf += op + _flags(raised)
        lowered = ~current & most
        if lowered:
            buf += "-" + _flags(lowered)
    histo = [0] * 8
    for bit in range(named_bits, MAX_BITS):
        histo[states[bit]] += 1
    for current in range(7, 0, -1):  # bits above the named ones can only be raised
        if histo[current]:
            names = ",".join(_name(bit) for bit in range(named_bits, MAX_BITS) if states[bit] == current)
            buf += " " + names + "+" + _flags(current)
    return buf[base:]
