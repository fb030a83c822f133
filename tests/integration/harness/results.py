"""What an Ansible run printed, as data: the PLAY RECAP, ad-hoc status lines, ansible-runner's stats."""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
from pathlib import Path

from harness.processes import tail_text

RECAP_FIELDS = ("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored")

_RECAP_LINE = re.compile(r"^(?P<host>\S+)\s+:\s+(?P<counts>(?:\w+=\d+\s*)+)$")
_ADHOC_LINE = re.compile(r"^(?P<host>\S+) \| (?P<status>SUCCESS|CHANGED|FAILED!|UNREACHABLE!|SKIPPED)\b")


def parse_recap(stdout: str) -> dict:
    """``{host: {"ok": n, "changed": n, "unreachable": n, "failed": n, "skipped": n, "rescued": n, "ignored": n}}``
    from the (last) PLAY RECAP of ansible-playbook's default stdout callback."""
    recap: dict = {}
    lines = stdout.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("PLAY RECAP")]
    if not starts:
        return recap
    for line in lines[starts[-1] + 1 :]:
        match = _RECAP_LINE.match(line.strip())
        if match is None:
            if line.strip():
                break
            continue
        counts = dict.fromkeys(RECAP_FIELDS, 0)
        for item in match.group("counts").split():
            key, value = item.split("=", 1)
            counts[key] = int(value)
        recap[match.group("host")] = counts
    return recap


def parse_adhoc_statuses(stdout: str) -> dict:
    """``{host: "SUCCESS" | "CHANGED" | "FAILED!" | "UNREACHABLE!" | "SKIPPED"}`` from ``ansible``'s status lines."""
    statuses = {}
    for line in stdout.splitlines():
        match = _ADHOC_LINE.match(line)
        if match:
            statuses[match.group("host")] = match.group("status")
    return statuses


def recap_from_runner_stats(stats: dict) -> dict:
    """ansible-runner's stats ({field: {host: n}}) in the shape of ``parse_recap`` ({host: {field: n}})."""
    recap = {}
    for host in stats.get("processed") or {}:
        recap[host] = {
            "ok": stats.get("ok", {}).get(host, 0),
            "changed": stats.get("changed", {}).get(host, 0),
            "unreachable": stats.get("dark", {}).get(host, 0),
            "failed": stats.get("failures", {}).get(host, 0),
            "skipped": stats.get("skipped", {}).get(host, 0),
            "rescued": stats.get("rescued", {}).get(host, 0),
            "ignored": stats.get("ignored", {}).get(host, 0),
        }
    return recap


def output_tails(stdout: str, stderr: str | None = None) -> str:
    """The ends of a run's output, for assertion and error messages."""
    tails = f"--- stdout (tail) ---\n{tail_text(stdout, 40)}"
    if stderr is not None:
        tails += f"\n--- stderr (tail) ---\n{tail_text(stderr, 40)}"
    return tails


@dataclasses.dataclass
class _CommandResult:
    """What an ``ansible-playbook`` or ``ansible`` subprocess did: its ``argv``, ``returncode`` and output."""

    argv: list
    returncode: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        """For assertion messages: command, return code, what was parsed, output tails."""
        return f"$ {shlex.join(self.argv)}\nreturncode={self.returncode}\n{self._parsed()}\n" + output_tails(
            self.stdout, self.stderr
        )

    def _parsed(self) -> str:
        raise NotImplementedError


@dataclasses.dataclass
class PlaybookResult(_CommandResult):
    """Outcome of ``run_playbook``: ``recap`` is ``{host: counts}`` from its PLAY RECAP."""

    recap: dict

    def hosts_with(self, field: str) -> list:
        """Hosts whose recap ``field`` (ok/changed/unreachable/failed/...) is non-zero."""
        return sorted(host for host, counts in self.recap.items() if counts.get(field, 0))

    def _parsed(self) -> str:
        return f"recap={json.dumps(self.recap, indent=1)}"


@dataclasses.dataclass
class AdhocResult(_CommandResult):
    """Outcome of ``run_adhoc``: ``statuses`` is ``{host: "SUCCESS" | "CHANGED" | "FAILED!" | "UNREACHABLE!"}``."""

    statuses: dict

    def _parsed(self) -> str:
        return f"statuses={self.statuses}"


@dataclasses.dataclass
class RunnerResult:
    """Outcome of ``run_with_ansible_runner``: ``status`` ("successful", "failed", "timeout", ...), ``rc``,
    ``stats`` (ansible-runner's: ok/dark/failures/changed/skipped/rescued/ignored/processed -> {host: n}),
    ``recap`` (same shape as PlaybookResult.recap), ``events`` (list of event dicts), ``stdout``."""

    status: str
    rc: int
    stats: dict
    recap: dict
    events: list
    stdout: str
    private_data_dir: Path

    def describe(self) -> str:
        return f"status={self.status} rc={self.rc}\nstats={json.dumps(self.stats, indent=1)}\n" + output_tails(
            self.stdout
        )
