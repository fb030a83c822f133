# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reading blocks of whole lines: edges, the reader thread, only regular files opened."""

from __future__ import annotations

import io
import os
import threading

import pytest
from logsource_data import UTC, count, steady, trad, utc, write

from ansible_collections.fleetwatch.audit.plugins.module_utils._lograte_scan import (
    count_sources,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.blocks import read_blocks
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.hourscan import FileScan
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.sources import FileSource
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.window import Window


def test_fifo_is_not_opened(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result = count(fifo)
    assert "not a regular file" in result["files"][0]["error"]


def test_read_blocks_edges():
    data = b"a\nbb\n" + b"c" * 300 + b"\nd"
    for threaded in (True, False):
        got = []
        for buf, start, end, long_line, _boots in read_blocks(io.BytesIO(data), 64, threaded=threaded):
            assert buf[start - 1] == 10
            got.append((bytes(buf[start:end]), long_line))
        assert got == [(b"a\nbb\n", False), (b"c" * 64 + b"\n", True), (b"d", False)]


def test_stopping_early_leaves_no_reader_thread(tmp_path, monkeypatch):
    times = steady(utc(2025, 10, 1), 3, 200)
    path = write(tmp_path / "f", b"".join(trad(t) for t in times), mtime=times[-1])
    before = threading.active_count()
    source = FileSource(path, UTC, rotated=False, chunk_size=256)
    for log_file in source.files(Window(), source.new_result()):
        _st, stream = log_file.open()
        with log_file.blocks(stream) as blocks:
            buf, start, _end, _long, _boots = next(blocks)
            assert bytes(buf[start : start + 15]) == trad(times[0])[:15]
            assert threading.active_count() == before + 1  # the reader thread, stopped by leaving the block
        stream.close()
    assert threading.active_count() == before
    blocks = read_blocks(io.BytesIO(b"x\n" * 1000), 64)
    blocks.close()  # never started: no thread either
    assert threading.active_count() == before

    def broken(*_args):
        raise RuntimeError("a bug in counting")

    monkeypatch.setattr(FileScan, "feed", broken)
    result = count_sources([FileSource(path, UTC, rotated=False, chunk_size=256)])[0]
    assert result["error"] == "internal error: RuntimeError: a bug in counting"
    assert threading.active_count() == before


def test_reader_thread_passes_errors_on():
    class Broken(io.RawIOBase):
        def readinto(self, _buf):
            raise OSError(5, "Input/output error")

    with pytest.raises(OSError):
        list(read_blocks(Broken(), 64, threaded=True))
