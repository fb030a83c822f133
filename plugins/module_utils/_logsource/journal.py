# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The systemd journal as a log source: ``journalctl`` streams export format, counted per UTC hour or handed out
entry by entry."""

from __future__ import annotations

import operator
import os
import re
import shutil
import subprocess
import tempfile
from collections import Counter, namedtuple

from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.export import (
    export_entries,
    pipe_entry_blocks,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.results import MAX_BOOTS, SourceResult
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.window import Window
from ansible_collections.fleetwatch.audit.plugins.module_utils._pathtext import path_to_text
from ansible_collections.fleetwatch.audit.plugins.module_utils._rootview import as_view, error_text
from ansible_collections.fleetwatch.audit.plugins.module_utils._timestamps import iso_utc

JOURNAL_DIRS = ("/var/log/journal", "/run/log/journal")

Event = namedtuple("Event", "time data fields boot_id")
Event.__doc__ = """One journal entry.

``time``: UTC epoch seconds (float); ``data``: the MESSAGE, as bytes; ``fields``: the journal fields asked for (dict
of bytes); ``boot_id``: the journal's ``_BOOT_ID``."""
_EXPORT_ENTRY = re.compile(rb"\n__REALTIME_TIMESTAMP=(\d{16})\n__MONOTONIC_TIMESTAMP=\d+\n_BOOT_ID=([0-9a-f]{32})\n\n")
_PREFIX8 = operator.itemgetter(slice(0, 8))


def _journalctl_env():
    env = dict(os.environ)
    env.update(LC_ALL="C", SYSTEMD_PAGER="cat", SYSTEMD_COLORS="0", SYSTEMD_LOG_COLOR="0", PAGER="cat")
    return env


class JournalSource(object):
    """The systemd journal through ``journalctl`` (streamed export format, UTC).

    ``directory``/``files`` (paths as seen inside ``root``, a path or a :class:`RootView`) select journal files; with
    neither, the system journal (``root`` ``/``) or ``<root>/var/log/journal`` (an offline image). ``matches`` are
    journalctl matches (``FIELD=value`` or ``+``).
    """

    kind = "journal"
    _MATCH_RE = re.compile(r"[A-Z0-9_]+=.*\Z|\+\Z", re.S)

    def __init__(self, root="/", matches=(), directory=None, files=(), name=None, journalctl="journalctl"):
        self.view = as_view(root)
        self.matches = list(matches or ())
        for match in self.matches:
            if not isinstance(match, str) or not self._MATCH_RE.match(match):
                raise ValueError("invalid journal match %r: use FIELD=value or +" % match)
        self.directory = directory
        self.files = list(files or ())
        self.name = name or "journal"
        self.journalctl = journalctl
        self.result = None

    def _host(self, path):
        host = self.view.host(path)
        return host if host is not None else self.view.join(path)  # a link loop: journalctl says so

    def _location(self):
        """``(journalctl options, directories and files to list, label)`` (host paths)."""
        if self.files:
            hosts = [self._host(f) for f in self.files]
            return ["--file=%s" % host for host in hosts], [], hosts, ",".join(self.files)
        if self.directory:
            host = self._host(self.directory)
            return ["--directory=%s" % host], [host], [], self.directory
        if not self.view.is_host:
            host = self._host("/var/log/journal")
            return ["--directory=%s" % host], [host], [], "/var/log/journal"
        return [], list(JOURNAL_DIRS), [], None

    def _journalctl(self):
        if os.sep in self.journalctl:
            return self.journalctl
        # modules may run with a short PATH
        return shutil.which(self.journalctl, path=os.environ.get("PATH", "") + ":/usr/bin:/bin") or self.journalctl

    def command(self, window, fields):
        opts, _dirs, _files, _label = self._location()
        argv = [self._journalctl(), "--no-pager", "-q", "-o", "export", "--output-fields=" + ",".join(fields)]
        argv += opts
        if window.since is not None:
            argv.append("--since=@%d" % window.since)
        if window.until is not None:
            argv.append("--until=@%d" % window.until)
        argv += self.matches
        return argv

    def journal_files(self):
        """The journal files this source reads: list of ``{"path", "size"}``."""
        _opts, dirs, files, _label = self._location()
        out = list(files)
        for top in dirs:
            out.extend(_journal_files_in(top))
        entries = []
        for host in out:
            try:
                size = os.stat(host).st_size
            except OSError:
                size = None
            entries.append({"path": path_to_text(self.view.shown(host)), "size": size})
        return entries

    def verify(self):
        """``journalctl --verify`` of this source's files: ``{"ok", "message"}`` (the FAIL lines, bounded).

        Checks every file's internal consistency, and the sealing of sealed (FSS) journals when a key is configured.
        ``None`` when there are no journal files to verify.
        """
        if not self.journal_files():
            return None
        opts = self._location()[0]
        try:
            proc = subprocess.run(
                [self._journalctl(), "--verify", "--no-pager", *opts],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=_journalctl_env(),
                check=False,
            )
        except OSError as exc:
            return {"ok": False, "message": "cannot run journalctl --verify: %s" % error_text(exc)}
        output = proc.stdout.decode("utf-8", "replace").splitlines()
        failures = [line for line in output if line.startswith("FAIL") or "File corruption" in line]
        message = "\n".join((failures or output)[-20:]) or None
        return {"ok": proc.returncode == 0, "message": message if proc.returncode != 0 else None}

    def _popen(self, window, fields):
        env = _journalctl_env()
        errfile = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _finish_proc
        try:
            proc = subprocess.Popen(
                self.command(window, fields),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=errfile,
                env=env,
                bufsize=0,
                close_fds=True,
            )
        except BaseException:
            errfile.close()
            raise
        return proc, errfile

    def _finish_proc(self, proc, errfile, result):
        try:
            proc.stdout.close()
            rc = proc.wait()
            errfile.seek(0)
            err = errfile.read(65536).decode("utf-8", "replace").strip()
        finally:
            errfile.close()
        if rc != 0:
            result.error = "journalctl exited with %s: %s" % (rc, err[-2000:] or "no message")
        elif err:
            result.warnings = err.splitlines()[-20:]

    def _new_result(self):
        _opts, _dirs, _files, label = self._location()
        result = SourceResult(self.name, self.kind, None if label is None else path_to_text(label), "UTC")
        result.files = self.journal_files()
        self.result = result
        return result

    def count(self, since=None, until=None):
        """Count entries per UTC hour, with the boots (``_BOOT_ID``) seen. Returns the result dict."""
        window = Window(since, until)
        result = self._new_result()
        acc = _JournalAccumulator(result, window)
        try:
            proc, errfile = self._popen(window, ("_BOOT_ID",))
        except OSError as exc:
            result.error = "cannot run journalctl: %s" % error_text(exc)
            return result.as_dict()
        try:
            for block in pipe_entry_blocks(proc.stdout):
                acc.feed_export_block(block)
            acc.end_entry()
        finally:
            if proc.poll() is None:
                proc.stdout.close()
            self._finish_proc(proc, errfile, result)
        acc.done()
        return result.as_dict()

    def events(self, since=None, until=None, fields=("MESSAGE", "SYSLOG_IDENTIFIER", "_PID", "PRIORITY")):
        """Yield an :class:`Event` per journal entry in the window (``data`` is MESSAGE)."""
        window = Window(since, until)
        result = self._new_result()
        acc = _JournalAccumulator(result, window)
        wanted = ["_BOOT_ID"] + [f for f in fields if f != "_BOOT_ID"]
        try:
            proc, errfile = self._popen(window, wanted)
        except OSError as exc:
            result.error = "cannot run journalctl: %s" % error_text(exc)
            return
        names = [(name.encode("ascii"), name) for name in wanted]
        try:
            for entry in export_entries(proc.stdout):
                boot = entry.get(b"_BOOT_ID")
                when = acc.entry(entry.get(b"__REALTIME_TIMESTAMP"), boot)
                if when is None:
                    continue
                yield Event(
                    when,
                    entry.get(b"MESSAGE", b""),
                    {name: entry[key] for key, name in names if key in entry},
                    None if boot is None else boot.decode("ascii", "replace"),
                )
        finally:
            if proc.poll() is None:
                proc.stdout.close()
                proc.kill()
            self._finish_proc(proc, errfile, result)
            acc.done()


def _journal_files_in(top):
    out = []
    try:
        names = sorted(os.listdir(top))
    except OSError:
        return out
    for name in names:
        path = os.path.join(top, name)
        if name.endswith((".journal", ".journal~")):
            out.append(path)
        elif os.path.isdir(path) and not os.path.islink(path):
            try:
                subs = sorted(os.listdir(path))
            except OSError:
                continue
            out.extend(os.path.join(path, s) for s in subs if s.endswith((".journal", ".journal~")))
    return out


class _JournalAccumulator(object):
    """Hourly counts, boots, steps back and first/last entry of a journal stream."""

    def __init__(self, result, window):
        self.result = result
        self.window = window
        self.hours = {}
        self.prefixes = Counter()  # first 8 digits of 16-digit microsecond timestamps (100 s) -> entries
        self.boots = {}  # boot id -> [first us, last us, entries]
        self.prev = None
        self.prev_hk = None
        self.rt = None
        self.boot = None
        self.since_us = None if window.since is None else window.since * 1000000
        self.until_us = None if window.until is None else window.until * 1000000

    def entry(self, rt, boot):
        result = self.result
        result.lines += 1
        if rt is None:
            result.unparsed += 1
            return None
        try:
            us = int(rt)
        except ValueError:
            result.unparsed += 1
            return None
        result.parsed += 1
        if (self.since_us is not None and us < self.since_us) or (self.until_us is not None and us >= self.until_us):
            result.outside_window += 1
            return None
        hk = us // 3600000000
        self.hours[hk] = self.hours.get(hk, 0) + 1
        if self.prev_hk is not None and hk < self.prev_hk:
            result.note_jump(round((self.prev - us) / 1e6, 6))
        self.prev = us
        self.prev_hk = hk
        if result.first is None:
            result.first = us / 1e6
        result.last = us / 1e6
        if boot is not None:
            seen = self.boots.get(boot)
            if seen is None:
                self.boots[boot] = [us, us, 1]
            else:
                if us < seen[0]:
                    seen[0] = us
                if us > seen[1]:
                    seen[1] = us
                seen[2] += 1
        return us / 1e6

    def feed_export_block(self, block):
        """Entries of an export stream of ``__REALTIME_TIMESTAMP`` and ``_BOOT_ID`` only, ``block`` whole entries.

        The usual block (every entry in that shape, in time order, inside the window) is handled by C-level calls:
        one regular expression for all entries, hours counted by the 100-second prefix of the microsecond
        timestamps (an hour is 36 of them), boots by their first and last index. Any other block goes line by line.
        """
        pairs = _EXPORT_ENTRY.findall(block)
        n = len(pairs)
        if not n or n != block.count(b"\n\n") or self.rt is not None or self.boot is not None:
            return self.feed_export_text(block)
        rts, boots = zip(*pairs)
        if n > 1 and not all(map(operator.le, rts, rts[1:])):  # equal widths: text order is time order
            return self.feed_export_text(block)
        lo = int(rts[0])
        hi = int(rts[-1])
        if (self.since_us is not None and lo < self.since_us) or (self.until_us is not None and hi >= self.until_us):
            return self.feed_export_text(block)
        result = self.result
        result.lines += n
        result.parsed += n
        hk = lo // 3600000000
        if self.prev_hk is not None and hk < self.prev_hk:
            result.note_jump(round((self.prev - lo) / 1e6, 6))
        self.prev = hi
        self.prev_hk = hi // 3600000000
        if result.first is None:
            result.first = lo / 1e6
        result.last = hi / 1e6
        self.prefixes.update(map(_PREFIX8, rts))
        backwards = boots[::-1]
        for boot in set(boots):
            first = int(rts[boots.index(boot)])
            last = int(rts[n - 1 - backwards.index(boot)])
            seen = self.boots.get(boot)
            if seen is None:
                self.boots[boot] = [first, last, boots.count(boot)]
            else:
                seen[0] = min(seen[0], first)
                seen[1] = max(seen[1], last)
                seen[2] += boots.count(boot)
        return None

    def feed_export_text(self, block):
        """Entries of an export stream without binary fields (only text fields were asked for).

        ``block`` holds whole lines (it ends with a newline); an entry may go on in the next block.
        """
        rt = self.rt
        boot = self.boot
        entry = self.entry
        lines = block.split(b"\n")
        lines.pop()  # a block ends with a newline: the last item is not a blank line
        for line in lines:
            if not line:
                if rt is not None or boot is not None:
                    entry(rt, boot)
                    rt = boot = None
            elif line.startswith(b"__REALTIME_TIMESTAMP="):
                rt = line[21:]
            elif line.startswith(b"_BOOT_ID="):
                boot = line[9:]
        self.rt = rt
        self.boot = boot

    def end_entry(self):
        if self.rt is not None or self.boot is not None:
            self.entry(self.rt, self.boot)
            self.rt = self.boot = None

    def done(self):
        result = self.result
        for prefix, n in self.prefixes.items():
            hk = int(prefix) * 100 // 3600
            self.hours[hk] = self.hours.get(hk, 0) + n
        self.prefixes.clear()
        result.hours = self.hours
        result.formats = {"journal": result.parsed} if result.parsed else {}
        result.boot_count = len(self.boots)
        for boot, (first, last, n) in sorted(self.boots.items(), key=lambda kv: kv[1][0])[:MAX_BOOTS]:
            result.boots.append(
                {
                    "boot_id": boot.decode("ascii", "replace") if isinstance(boot, bytes) else boot,
                    "time": iso_utc(first / 1e6),
                    "first_event": iso_utc(first / 1e6),
                    "last_event": iso_utc(last / 1e6),
                    "entries": n,
                }
            )


def journal_present(view):
    """True when the journal of the root of ``view`` has files under ``/var/log/journal`` or ``/run/log/journal``."""
    for top in JOURNAL_DIRS:
        host = view.host(top)
        if host and _journal_files_in(host):
            return True
    return False
