# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Capability xattr decoding, checked against the real setcap/getcap (libcap2-bin) on real files."""

from __future__ import annotations

import os
import random
import shutil
import struct
import subprocess

import pytest

from ansible_collections.fleetwatch.audit.plugins.module_utils._filecaps import (
    CAP_NAMES,
    XATTR_NAME,
    caps_to_text,
    decode_vfs_cap,
)

needs_libcap = pytest.mark.skipif(
    not (shutil.which("setcap") and shutil.which("getcap") and os.geteuid() == 0),
    reason="needs root and libcap2-bin (setcap, getcap)",
)


def _setcap(path, spec, *extra):
    subprocess.run(["setcap", *extra, spec, str(path)], check=True, capture_output=True)


def _getcap_text(path, *extra):
    out = subprocess.run(["getcap", *extra, str(path)], check=True, capture_output=True, text=True).stdout
    line = out.rstrip("\n")
    assert line.startswith(str(path) + " "), out
    return line[len(str(path)) + 1 :]


@needs_libcap
def test_cap_net_raw_ep_real_bytes(tmp_path):
    target = tmp_path / "ping"
    target.write_bytes(b"\x7fELF")
    _setcap(target, "cap_net_raw+ep")
    raw = os.getxattr(target, XATTR_NAME)
    # what setcap wrote: revision 2, effective bit, permitted bit 13 (cap_net_raw)
    assert raw == bytes.fromhex("0100000200200000000000000000000000000000")
    caps = decode_vfs_cap(raw)
    assert (caps.revision, caps.permitted, caps.inheritable, caps.effective, caps.rootid) == (
        2,
        1 << 13,
        0,
        1 << 13,
        None,
    )
    assert caps.text() == "cap_net_raw=ep" == _getcap_text(target)


SPECS = [
    "cap_net_raw+ep",
    "cap_net_bind_service,cap_net_raw+ep",
    "cap_net_raw+p",
    "cap_net_raw+i",
    "cap_net_raw+ei",
    "cap_chown+p cap_kill+i",
    "cap_sys_admin+eip",
    "all=eip",
    "all+ep cap_sys_admin-ep",
    "all=p cap_chown-p",
    "all+i",
    "cap_checkpoint_restore,cap_bpf,cap_perfmon+ep",
    "cap_setuid,cap_setgid+p cap_dac_override+ip",
    "=",
    "41,63+ep",  # bits with no name in this libcap: printed as numbers
]


def _random_specs(count):
    rng = random.Random(4242)
    specs = []
    for _round in range(count):
        spec = ",".join(rng.sample(CAP_NAMES, rng.randint(1, len(CAP_NAMES)))) + "+" + rng.choice(["p", "i", "pi"])
        if rng.random() < 0.5:
            spec += " " + ",".join(rng.sample(CAP_NAMES, rng.randint(1, 8))) + "+" + rng.choice(["p", "i", "pi"])
        specs.append(spec)
    return specs


@needs_libcap
@pytest.mark.parametrize("spec", SPECS + _random_specs(25))
def test_text_matches_getcap(tmp_path, spec):
    target = tmp_path / "f"
    target.write_bytes(b"x")
    _setcap(target, spec)
    assert decode_vfs_cap(os.getxattr(target, XATTR_NAME)).text() == _getcap_text(target)


@needs_libcap
def test_revision3_rootid(tmp_path):
    target = tmp_path / "ns"
    target.write_bytes(b"x")
    _setcap(target, "cap_net_raw+ep", "-n", "1000")
    caps = decode_vfs_cap(os.getxattr(target, XATTR_NAME))
    assert (caps.revision, caps.rootid) == (3, 1000)
    assert caps.text() == _getcap_text(target) == "cap_net_raw=ep"
    assert _getcap_text(target, "-n") == "cap_net_raw=ep [rootid=1000]"


def test_revision1_and_no_effective_bit():
    v1 = struct.pack("<III", 0x01000000 | 1, 1 << 10, 1 << 12)
    caps = decode_vfs_cap(v1)
    assert (caps.revision, caps.permitted, caps.inheritable, caps.effective) == (
        1,
        1 << 10,
        1 << 12,
        (1 << 10) | (1 << 12),
    )
    assert caps.text() == "cap_net_admin=ei cap_net_bind_service+ep"  # getcap's text for the same sets (v2)
    v2 = struct.pack("<IIIII", 0x02000000, 1 << 13, 0, 0, 0)
    assert decode_vfs_cap(v2).text() == "cap_net_raw=p"


def test_high_bits_use_numbers():
    assert caps_to_text(1 << 41 | 1 << 63, 0, 1 << 41 | 1 << 63) == "= 41,63+ep"
    assert caps_to_text(1 << 40, 0, 1 << 40) == "cap_checkpoint_restore=ep"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\x00\x00",
        struct.pack("<I", 0x04000000) + bytes(16),
        struct.pack("<IIIII", 0x02000001, 1, 0, 0, 0)[:-1],
    ],
)
def test_invalid_attribute(raw):
    with pytest.raises(ValueError):
        decode_vfs_cap(raw)
