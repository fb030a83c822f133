# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Which files a log source is: rotated siblings of a log file, oldest first, and the default sources of a root."""

from __future__ import annotations

import posixpath
import re

from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.journal import journal_present

_ROTATED_RE_CACHE = {}


def _rotated_re(base):
    pattern = _ROTATED_RE_CACHE.get(base)
    if pattern is None:
        pattern = re.compile(re.escape(base) + r"(?:\.(\d{1,6})|-(\d{8}(?:\d{2}){0,3}))(?:\.(gz|bz2|xz|zst|lz4|Z))?\Z")
        _ROTATED_RE_CACHE[base] = pattern
    return pattern


def rotated_siblings(view, directory, base):
    """Rotated versions of ``base`` in ``directory`` (inside the root of ``view``), oldest first.

    Returns ``(files, duplicates)``: ``files`` a list of names; ``duplicates`` a list of ``(name, kept)`` for a
    compressed and an uncompressed version of the same rotation (``syslog.2`` and ``syslog.2.gz`` while logrotate
    compresses): the uncompressed one is read, the other reported as skipped.

    Numbered rotations (``syslog.1``, ``syslog.2.gz``: the highest number is the oldest) and ``dateext`` ones
    (``syslog-20251001``, ``syslog-2025100112.gz``: by date) are recognised; when both schemes are present they
    are ordered by modification time.
    """
    try:
        names = view.listdir(directory)
    except OSError:
        return [], []
    pattern = _rotated_re(base)
    found = {}
    for name in names:
        match = pattern.match(name)
        if match is None:
            continue
        number, date, comp = match.groups()
        key = ("n", int(number)) if number is not None else ("d", date)
        found.setdefault(key, []).append((comp is not None, name))
    duplicates = []
    chosen = []
    for key, versions in found.items():
        versions.sort()
        chosen.append((key, versions[0][1]))
        for _comp, name in versions[1:]:
            duplicates.append((name, versions[0][1]))
    schemes = {key[0] for key, _name in chosen}
    if len(schemes) > 1:

        def order(item):
            try:
                mtime = view.stat(posixpath.join(directory, item[1])).st_mtime
            except OSError:
                mtime = 0
            return (mtime, item[1])

        chosen.sort(key=order)
    elif schemes == {"n"}:
        chosen.sort(key=lambda item: -item[0][1])
    else:
        chosen.sort(key=lambda item: (item[0][1].ljust(14, "0"), item[1]))
    return [name for _key, name in chosen], duplicates


def exists_or_rotated(view, path):
    """Whether the log file ``path`` (inside the root) exists, or has rotated versions."""
    real = view.resolve(path, follow_final=True)
    if real is None:
        return False
    if view.lexists(real):
        return True
    names, _dups = rotated_siblings(view, *posixpath.split(real))
    return bool(names)


def discover(view, paths, fallback=()):
    """Default sources of a gatherer: the journal if it has files, then those of the log files ``paths`` that exist
    (or were rotated); ``fallback`` files only when none of ``paths`` does.

    Returns source specifications as the ``sources`` option takes them (the journal's marked ``"default": True``).
    """
    specs = [{"journal": {}, "default": True}] if journal_present(view) else []
    found = [{"path": path} for path in paths if exists_or_rotated(view, path)]
    if not found:
        found = [{"path": path} for path in fallback if exists_or_rotated(view, path)]
    return specs + found
