# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Log sources as every log gatherer reads them: a file with its rotations, or the journal.

A gatherer reads a file source through :meth:`FileSource.files`: one :class:`LogFile` per file, oldest first, whose
blocks (or byte ranges) the gatherer parses; the bookkeeping every gatherer shares (rotations, files skipped or
missing, errors, the per-file entry and the source's coverage) is done here. The journal gives entries
(:meth:`JournalSource.events`) or hourly counts (:meth:`JournalSource.count`).
"""

from __future__ import annotations

import errno
import posixpath
from contextlib import closing, contextmanager

from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.blocks import (
    CHUNK_SIZE,
    READ_ERRORS,
    open_log,
    read_blocks,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.files import rotated_siblings
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.journal import JournalSource
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.results import SourceResult, file_entry
from ansible_collections.fleetwatch.audit.plugins.module_utils._pathtext import path_to_text
from ansible_collections.fleetwatch.audit.plugins.module_utils._rootview import as_view, error_text
from ansible_collections.fleetwatch.audit.plugins.module_utils._timestamps import iso_utc


class SourceError(Exception):
    """A source that cannot be read as a whole (its files are missing, journalctl failed, ...)."""


class LogFile(object):
    """One file of a file source, as a gatherer reads it: opened through the root view, with its entry ``info``."""

    def __init__(self, source, real, info):
        self.view = source.view
        self.real = real  # the path inside the root, links resolved
        self.info = info
        self.chunk_size = source.chunk_size
        self.threaded = source.threaded
        self.opened = False

    def stat(self):
        return self.view.stat(self.real)

    def open(self):
        """``(stat, stream)`` of the file, decompressed; its size, modification time and compression are noted."""
        st = self.stat()  # noted even when the file cannot be opened
        self.info["size"] = st.st_size
        self.info["mtime"] = iso_utc(st.st_mtime)
        st, compression, stream = open_log(self.view, self.real)
        self.info["compression"] = compression
        self.opened = True
        return st, stream

    def blocks(self, stream):
        """The blocks of :func:`read_blocks` over ``stream``, as a context manager that stops the reader thread."""
        return closing(read_blocks(stream, self.chunk_size, self.threaded))

    @contextmanager
    def reading(self):
        """Where the file is read: an error of the file (unreadable, damaged) is noted in its entry, and the reading
        of the source goes on with what could be read of it."""
        try:
            yield self
        except READ_ERRORS as exc:
            self.info["error"] = self.info["error"] or error_text(exc)


class FileSource(object):
    """A log file and its rotated siblings, read oldest to newest.

    ``path`` is absolute as seen inside ``root`` (a path or a :class:`RootView`). ``zone`` is a
    :class:`_timestamps.Zone`; ``year`` forces the year of the last traditional event of every file (else taken
    from the file's modification time).
    """

    kind = "file"

    def __init__(self, path, zone, root="/", name=None, rotated=True, year=None, chunk_size=CHUNK_SIZE, threaded=True):
        self.path = path
        self.zone = zone
        self.view = as_view(root)
        self.name = name or path
        self.rotated = rotated
        self.year = year
        self.chunk_size = chunk_size
        self.threaded = threaded

    def plan(self, window=None):
        """The files to read, oldest first: dicts ``{"path", "real", "live", "missing", "skipped"}`` (``path`` as
        written, in the source's directory; ``real`` inside the root with its links resolved)."""
        real = self.view.resolve(self.path, follow_final=True)
        if real is None:
            raise SourceError("too many levels of symbolic links")
        real_dir, base = posixpath.split(real)
        in_dir = posixpath.dirname(self.path)
        files = []
        if self.rotated:
            names, duplicates = rotated_siblings(self.view, real_dir, base)
            for name in names:
                files.append({"path": posixpath.join(in_dir, name), "real": posixpath.join(real_dir, name)})
            for name, kept in duplicates:
                skipped = "duplicate of %s" % path_to_text(kept)
                files.append(
                    {"path": posixpath.join(in_dir, name), "real": posixpath.join(real_dir, name), "skipped": skipped}
                )
        live = {"path": self.path, "real": real, "live": True}
        try:
            self.view.stat(real)
        except OSError as exc:  # a file that exists but cannot be looked at is reported by its read
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                live["missing"] = True
        files.append(live)
        if window is not None and window.since is not None:
            for entry in files:
                if not entry.get("live") and not entry.get("skipped") and self._older(entry["real"], window.since):
                    entry["skipped"] = "last written before since"
        return files

    def _older(self, real, since):
        try:
            return self.view.stat(real).st_mtime < since
        except OSError:
            return False

    def new_result(self):
        return SourceResult(self.name, self.kind, path_to_text(self.path), self.zone.name)

    def files(self, window, result, **fields):
        """Yield a :class:`LogFile` for each file to read, oldest first, each with its entry (the fields every
        gatherer reports, then ``fields``), which is added to ``result.files`` once the caller has read it.

        The caller reads a file inside ``with log_file.reading():``. Files skipped or missing are reported without
        being handed out; ``result.error`` says why when the source could not be read at all.
        """
        try:
            planned = self.plan(window)
        except SourceError as exc:
            result.error = str(exc)
            return
        opened = False
        for entry in planned:
            info = file_entry(entry["path"], entry.get("skipped"), **fields)
            if entry.get("missing"):
                info["error"] = info["skipped"] = "not found"
                if not any(not e.get("missing") and not e.get("skipped") for e in planned):
                    result.error = "not found: %s" % path_to_text(self.path)
            if not info["skipped"]:
                log_file = LogFile(self, entry["real"], info)
                yield log_file
                opened = opened or log_file.opened
            result.files.append(info)
        if not opened and result.error is None and any(f["error"] for f in result.files):
            result.error = "no file of this source could be read"


def read_journal_first(log_sources, discovered, read_journal, read_file):
    """The statistics of every source, in the order of ``log_sources``. A discovered journal is read first, and the
    files only up to its first entry (``journal_cut``), so that a line logged to both (rsyslog reading the journal)
    is counted once.

    ``read_journal(source, before_files)`` returns ``(statistics, time of its first entry or None)``;
    ``read_file(source, cut)`` returns the statistics of a file source read up to ``cut`` (None: to its end).
    """
    stats = [None] * len(log_sources)
    cut = None
    for index, source in enumerate(log_sources):
        if source.kind == "journal" and discovered:
            stats[index], first = read_journal(source, True)
            if first is not None and not stats[index].get("error"):
                cut = first if cut is None else min(cut, first)
    for index, source in enumerate(log_sources):
        if stats[index] is not None:
            continue
        if source.kind == "journal":
            stats[index] = read_journal(source, False)[0]
        else:
            stats[index] = read_file(source, cut)
            if cut is not None:
                stats[index]["journal_cut"] = iso_utc(cut)
    return stats


def build_sources(specs, zone, root="/", year=None, chunk_size=CHUNK_SIZE, journal_matches=()):
    """Source objects for specifications ``{"path": ...}`` / ``{"journal": {...}}`` (``name``, ``rotated``).

    ``journal_matches``: the matches of a journal source that names none (a gatherer's own entries).
    """
    view = as_view(root)
    sources = []
    for spec in specs:
        journal = spec.get("journal")
        if spec.get("path"):
            rotated = spec.get("rotated", True) is not False
            sources.append(
                FileSource(spec["path"], zone, view, spec.get("name"), rotated, year=year, chunk_size=chunk_size)
            )
        elif journal is not None:
            journal = journal or {}
            files = journal.get("files") or ()
            sources.append(
                JournalSource(
                    root=view,
                    matches=journal.get("matches") or journal_matches,
                    directory=journal.get("directory"),
                    files=[files] if isinstance(files, str) else files,
                    name=spec.get("name"),
                )
            )
        else:
            raise ValueError("a source needs 'path' or 'journal'")
    return sources
