# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Render the fleet report (from :func:`fleet.analyze_fleet`) as JSON, Markdown and a short terminal summary.

Every string that may come from a host goes through :mod:`escape` for its medium.
"""

from __future__ import annotations

import os
from collections import defaultdict

from ansible_collections.fleetwatch.audit.plugins.plugin_utils.escape import markdown, safe_stamp, terminal
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.files import atomic_write, dump_json, ensure_dir
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.findings import SEVERITIES, active
from ansible_collections.fleetwatch.audit.plugins.plugin_utils.fleet import FLEET_CHECK

TERMINAL_FINDINGS = 5
TERMINAL_WIDTH = 200
_FINDING_COLUMNS = ("severity", "check", "kind", "subject", "summary", "since", "id", "suppressed")


def render_json(report: dict) -> str:
    """The full report as JSON, keys sorted, ASCII only (no raw control character reaches a terminal)."""
    return dump_json(report, "fleet report").decode("ascii")


def _row(cells) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: tuple, rows: list) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(row) for row in rows)]


def _suppression(finding: dict) -> str:
    rule = finding.get("suppressed")
    if not rule:
        return ""
    if "accepted" in rule:
        return markdown(f"accepted {rule['accepted']} on this host: {rule['reason']} ({rule['owner']}, {rule['when']})")
    return markdown(f"{rule['rule']}: {rule['reason']} ({rule['owner']}, until {rule['expires']})")


def _severity(finding: dict) -> str:
    override = finding.get("severity_override")
    text = markdown(finding["severity"])
    if override:
        text += f" (was {markdown(override['from'])}: {markdown(override['rule'])})"
    return f"~~{text}~~" if finding.get("suppressed") else f"**{text}**"


def _finding_row(finding: dict) -> list[str]:
    return [
        _severity(finding),
        markdown(finding["check"]),
        markdown(finding["kind"]),
        markdown(finding["subject"]),
        markdown(finding["summary"]),
        markdown(finding.get("since") or ""),
        markdown(finding["id"]),
        _suppression(finding),
    ]


def render_markdown(report: dict) -> str:
    """The report for humans: summary table, hosts not audited, fleet findings, then one table per host."""
    summary = report["summary"]
    verdict = f"**FAIL**: {markdown(summary['fail'])}" if summary.get("fail") else "**PASS**"
    lines = [
        "# fleetwatch fleet report",
        "",
        f"Generated {markdown(report['generated'])} with {markdown(report['policy']['source'])}; "
        f"fail_on {markdown(summary['fail_on'])}: {verdict}",
        "",
        "## Summary",
        "",
        *_table(
            ("hosts", "audited", "not audited", "drifting", "clean", *SEVERITIES, "suppressed"),
            [
                [
                    str(summary["hosts"]),
                    str(summary["audited"]),
                    str(len(summary["not_audited"])),
                    str(len(summary["drifting"])),
                    str(len(summary["clean"])),
                    *(str(summary["counts"][severity]) for severity in SEVERITIES),
                    str(summary["suppressed"]),
                ]
            ],
        ),
        "",
    ]
    silent = [(host, entry) for host, entry in report["hosts"].items() if entry["status"] != "audited"]
    lines += ["## Not audited", ""]
    if silent:
        rows = [[markdown(h), markdown(e["status"]), markdown(e["reason"])] for h, e in silent]
        lines += _table(("host", "status", "reason"), rows)
    else:
        lines.append("Every expected host was audited.")
    lines += ["", "## Fleet findings (outliers and rules)", ""]
    fleet = [f for f in report["fleet_findings"] if not (f["check"] == FLEET_CHECK and f["kind"] == "coverage")]
    if fleet:
        lines += _table(("host", *_FINDING_COLUMNS), [[markdown(f["host"]), *_finding_row(f)] for f in fleet])
    else:
        lines.append("No outliers.")
    if "login_graph" in report:
        lines += ["", *_login_graph_lines(report["login_graph"])]
    if "flow_matrix" in report:
        lines += ["", *_flow_matrix_lines(report["flow_matrix"])]
    lines += ["", "## What was audited", ""]
    audited = [
        [markdown(host), markdown(entry["status"]), markdown(check), markdown(text)]
        for host, entry in report["hosts"].items()
        for check, text in entry.get("inventory", {}).items()
    ]
    lines += _table(("host", "status", "check", "covered"), audited) if audited else ["No gathered data."]
    lines += ["", "## Hosts", ""]
    quiet = [host for host, entry in report["hosts"].items() if host in summary["clean"] and not entry["findings"]]
    if quiet:
        lines += [f"Clean, no findings: {', '.join(markdown(host) for host in quiet)}", ""]
    for host, entry in report["hosts"].items():
        if host in quiet:
            continue
        state = "drifting" if host in summary["drifting"] else "clean" if host in summary["clean"] else entry["status"]
        worst = f", worst {markdown(entry['worst_severity'])}" if entry["worst_severity"] else ""
        lines += [f"### {markdown(host)}: {markdown(state)}{worst} (group {markdown(entry['group'])})", ""]
        lines += _table(_FINDING_COLUMNS, [_finding_row(f) for f in entry["findings"]]) if entry["findings"] else []
        lines.append("")
    return "\n".join(lines)


def _login_graph_lines(graph: dict) -> list[str]:
    """The "Login graph: new edges" section: accepted logins whose (user, source) no baseline had."""
    lines = ["## Login graph: new edges", ""]
    new = graph.get("new_edges") or []
    if not new:
        return [*lines, f"No new edges ({len(graph.get('edges') or [])} login edges in all)."]
    rows = [
        [
            markdown(edge.get("from") or ", ".join(edge.get("from_hosts") or []) or "(no inventory host)"),
            markdown(edge.get("from_address")),
            markdown(edge.get("user")),
            markdown(edge.get("to")),
            markdown(", ".join(edge.get("methods") or [])),
            str(edge.get("count")),
            markdown(edge.get("first_seen") or ""),
            markdown(edge.get("last_seen") or ""),
        ]
        for edge in new
    ]
    header = ("from host", "from address", "user", "to host", "methods", "logins", "first seen", "last seen")
    return [*lines, *_table(header, rows), "", f"{len(new)} new of {len(graph.get('edges') or [])} login edges."]


def _flow_matrix_lines(matrix: dict) -> list[str]:
    """The "Internal flows: new edges" section: flows between inventory hosts that no baseline had."""
    lines = ["## Internal flows: new edges", ""]
    new, edges = matrix.get("new_edges") or [], matrix.get("edges") or []
    if not new:
        return [*lines, f"No new edges ({len(edges)} internal flow edges in all)."]
    rows = [
        [
            markdown(edge.get("from")),
            markdown(edge.get("to")),
            markdown(edge.get("proto")),
            markdown("" if edge.get("dport") is None else str(edge["dport"])),
            str(edge.get("count")),
            markdown(", ".join(edge.get("seen_in") or [])),
            markdown(edge.get("first_seen") or ""),
        ]
        for edge in new
    ]
    header = ("from host", "to host", "protocol", "port", "packets", "seen in the logs of", "first seen")
    return [*lines, *_table(header, rows), "", f"{len(new)} new of {len(edges)} internal flow edges."]


def render_terminal(report: dict, paths: dict | None = None, limit: int = TERMINAL_FINDINGS) -> str:
    """A few lines for the end of a run: hosts, counts, verdict, the worst findings, where the reports are."""
    summary = report["summary"]

    def names(hosts):
        return terminal(", ".join(hosts), TERMINAL_WIDTH)

    counts = ", ".join(f"{summary['counts'][s]} {s}" for s in SEVERITIES)
    verdict = "FAIL" if summary.get("fail") else "pass"
    baselined = f", {len(summary['baselined'])} baseline written" if summary["baselined"] else ""
    lines = [
        f"fleetwatch: {summary['hosts']} hosts, {summary['audited']} audited{baselined}, "
        f"{len(summary['not_audited'])} not audited, {len(summary['drifting'])} drifting, "
        f"{len(summary['clean'])} clean",
        f"findings: {counts}; {summary['suppressed']} suppressed; worst {summary['worst_severity'] or 'none'}; "
        f"fail_on {summary['fail_on']}: {verdict}",
    ]
    if summary["not_audited"]:
        lines.append(f"not audited: {names(summary['not_audited'])}")
    if summary["drifting"]:
        lines.append(f"drifting: {names(summary['drifting'])}")
    # What the run vouches for: one host's coverage in full (make audit), a count per check for a fleet.
    covered = defaultdict(list)
    for host, entry in report["hosts"].items():
        for check, text in entry.get("inventory", {}).items():
            covered[check].append((host, text))
    for check, hosts in sorted(covered.items()):
        if len(hosts) == 1:
            host, text = hosts[0]
            lines.append(f"  {check} on {terminal(host, 60)}: {terminal(text, TERMINAL_WIDTH)}")
        else:
            lines.append(f"  {check}: covered on {len(hosts)} hosts (what each covered: in the report)")
    every = active(f for entry in report["hosts"].values() for f in entry["findings"])
    worst = sorted(every, key=lambda f: SEVERITIES.index(f["severity"]))
    lines += [f"  {f['severity']:<8} {f['id']} {terminal(f['summary'], TERMINAL_WIDTH)}" for f in worst[:limit]]
    if len(worst) > limit:
        lines.append(f"  … and {len(worst) - limit} more findings in the report")
    if paths:
        lines.append(f"report: {terminal(paths.get('markdown'))} (latest: {terminal(paths.get('latest_markdown'))})")
    return "\n".join(lines)


def report_stamp(report: dict) -> str:
    """File name stamp of a report from its generation time: ``20260102T030405Z``."""
    return report["generated"].replace("-", "").replace(":", "")


def write_reports(report: dict, directory: str, stamp: str | None = None) -> dict:
    """Write ``fleet-<stamp>.json`` and ``.md``, then refresh ``latest.json`` and ``latest.md``; each write atomic.

    Returns ``{"json", "markdown", "latest_json", "latest_markdown"}`` paths.
    """
    directory = ensure_dir(os.path.abspath(os.path.expanduser(directory)))
    stamp = safe_stamp(stamp or report_stamp(report))
    contents = {"json": render_json(report), "markdown": render_markdown(report)}
    paths = {}
    for kind, suffix in (("json", "json"), ("markdown", "md")):
        data = contents[kind].encode("utf-8")
        paths[kind] = atomic_write(os.path.join(directory, f"fleet-{stamp}.{suffix}"), data)
        paths[f"latest_{kind}"] = atomic_write(os.path.join(directory, f"latest.{suffix}"), data)
    return paths
