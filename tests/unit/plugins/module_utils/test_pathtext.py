# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import os
import random

import pytest

from ansible_collections.fleetwatch.audit.plugins.module_utils._pathtext import path_to_text, text_to_path


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"/usr/bin/su", "/usr/bin/su"),
        (b"/tmp/a\nb", "/tmp/a\\x0ab"),
        (b"/tmp/tab\there", "/tmp/tab\\x09here"),
        (b"/tmp/nul\x00", "/tmp/nul\\x00"),
        (b"/tmp/del\x7f", "/tmp/del\\x7f"),
        (b"/tmp/esc\x1b[31m", "/tmp/esc\\x1b[31m"),
        (b"/tmp/back\\slash", "/tmp/back\\\\slash"),
        (b"/tmp/caf\xe9", "/tmp/caf\\xe9"),  # Latin-1, not UTF-8
        ("/tmp/café ünïcode €".encode(), "/tmp/café ünïcode €"),  # valid UTF-8 is kept as is
        (b"/tmp/\xed\xa0\x80", "/tmp/\\xed\\xa0\\x80"),  # an encoded surrogate is not valid UTF-8
        (b"/tmp/\xc3", "/tmp/\\xc3"),  # truncated sequence
        (b"/tmp/literal\\x41", "/tmp/literal\\\\x41"),  # a backslash that looks like an escape stays unambiguous
        (b"", ""),
    ],
)
def test_text_form_and_inverse(raw, text):
    assert path_to_text(raw) == text
    assert text_to_path(text) == raw


def test_str_input_from_fsdecode():
    assert path_to_text(os.fsdecode(b"/tmp/caf\xe9\n")) == "/tmp/caf\\xe9\\x0a"


def test_every_single_byte_round_trips():
    for value in range(256):
        raw = b"/x" + bytes((value,)) + b"y"
        text = path_to_text(raw)
        assert text_to_path(text) == raw
        assert all(0x20 <= ord(c) != 0x7F for c in text if ord(c) < 0x80), text


def test_random_bytes_round_trip():
    rng = random.Random(20261127)
    for _round in range(3000):
        raw = bytes(rng.randrange(256) for _byte in range(rng.randrange(1, 40)))
        text = path_to_text(raw)
        assert text_to_path(text) == raw
        text.encode("utf-8")  # always valid text (no lone surrogates), so JSON-safe


def test_hand_written_backslash_without_escape_is_literal():
    assert text_to_path("/tmp/a\\b") == b"/tmp/a\\b"
    assert text_to_path("/tmp/\\X41") == b"/tmp/\\X41"
    assert text_to_path("/tmp/\\xE9") == b"/tmp/\xe9"  # upper-case hex is accepted on input
