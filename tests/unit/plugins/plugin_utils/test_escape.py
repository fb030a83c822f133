from __future__ import annotations

import pytest

from ansible_collections.fleetwatch.audit.plugins.plugin_utils import escape


def test_markdown_table_cell_is_inert():
    cell = escape.markdown("a|b\nc\r\nd `x` <script>alert(1)</script> & *y* [l](javascript:z)")
    assert "|" not in cell.replace("\\|", "")
    assert "\n" not in cell and "\r" not in cell
    assert cell.count("<br>") == 2
    assert "<script>" not in cell and "&lt;script&gt;alert(1)&lt;/script&gt;" in cell
    assert "&amp;" in cell
    assert "\\`x\\`" in cell
    assert "\\*y\\*" in cell and "\\[l\\]" in cell


@pytest.mark.parametrize(
    ("text", "expected"),
    [("# title", "\\# title"), ("- item", "\\- item"), ("+ x", "\\+ x"), ("1. x", "1\\. x"), ("a#b", "a#b")],
)
def test_markdown_leading_block_markers(text, expected):
    assert escape.markdown(text) == expected


def test_markdown_shows_control_characters_as_text():
    cell = escape.markdown("/tmp/\x1b[31mred\x9b2J\u202eevil")
    assert "\x1b" not in cell and "\x9b" not in cell and "\u202e" not in cell
    # the backslash is itself escaped so that Markdown shows \x1b
    assert "\\\\x1b\\[31mred\\\\x9b2J\\\\u202eevil" in cell


def test_markdown_of_a_4k_string_is_complete_and_escaped():
    hostile = ("|<>\n\x1b" * 820)[:4096]
    cell = escape.markdown(hostile)
    assert "\n" not in cell and "\x1b" not in cell and "<>" not in cell
    assert cell.count("\\|") == hostile.count("|")
    assert escape.markdown("x" * 5000, limit=100) == "x" * 100 + "…(+4900 chars)"


def test_terminal_never_emits_raw_controls():
    text = escape.terminal("a\x1b[31mb\x9bc\x07d\x7fe\nf\tg\u2028h\udc9bi")
    assert text == "a\\x1b[31mb\\x9bc\\x07d\\x7fe\\nf\\tg\\u2028h\\x9bi"
    assert all(ch.isprintable() for ch in text)


def test_terminal_keeps_printable_unicode_and_truncates():
    assert escape.terminal("/home/josé/ünïcode") == "/home/josé/ünïcode"
    long = escape.terminal("\x1b" * 4096, limit=10)
    assert long == "\\x1b" * 10 + "…(+4086 chars)"
    assert escape.terminal(None) == ""


@pytest.mark.parametrize(
    "host", ["web1.example.com", "../x", "a/b", ".hidden", "..", "ünï cödé", "%2E", "a\x00b", "~x"]
)
def test_host_filenames_are_safe_and_reversible(host):
    name = escape.host_to_filename(host)
    assert "/" not in name and "\x00" not in name
    assert not name.startswith(".")
    assert name.isascii()
    assert escape.filename_to_host(name) == host


def test_host_filename_examples_and_foreign_names():
    assert escape.host_to_filename("web1.example.com") == "web1.example.com"
    assert escape.host_to_filename("../x") == "%2E.%2Fx"
    assert escape.filename_to_host(".web1.json.abc.tmp") is None
    assert escape.filename_to_host("%2e%2e") is None  # not what host_to_filename writes
    with pytest.raises(ValueError, match="not a host name"):
        escape.host_to_filename("")
    with pytest.raises(ValueError, match="too long"):
        escape.host_to_filename("h" * 300)


def test_safe_stamp():
    assert escape.safe_stamp("20260102T030405Z") == "20260102T030405Z"
    for bad in ("../x", "", ".x", "a/b"):
        with pytest.raises(ValueError):
            escape.safe_stamp(bad)
