# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The fleet's matrix of internal flows between inventory hosts, from every host's firewall log (docs/findings.md)."""

from __future__ import annotations

from collections.abc import Mapping

NEW_EDGE_RULES = ("internal_flow", "internal_ssh")  # the firewall_log rules of a flow the baseline did not have


def _ends(logger: str, flow: dict, known: Mapping) -> tuple[str, str] | None:
    """(sender, receiver) inventory hosts of a flow logged on ``logger``: an ``out`` flow is the logger's own, an
    ``in`` flow is for it; otherwise each end is the host with that address. ``None`` unless both are hosts."""
    senders = [logger] if flow["direction"] == "out" else known.get(flow["src"]) or []
    receivers = [logger] if flow["direction"] == "in" else known.get(flow["dst"]) or []
    if len(senders) != 1 or len(receivers) != 1 or senders == receivers:
        return None
    return senders[0], receivers[0]


def _new_flows(compare: dict | None) -> set | None:
    """The flow keys a host's compare reported as new internal flows, ``None`` when it was not compared."""
    if not compare or compare.get("status") != "compared":
        return None
    return {
        (f.get("after") or {}).get("flow")
        for f in compare.get("findings") or []
        if f.get("check") == "firewall_log" and f.get("rule") in NEW_EDGE_RULES
    }


def flow_matrix(per_host: Mapping[str, dict], compares: Mapping[str, dict | None], known: Mapping) -> dict:
    """``{"edges": [...], "new_edges": [...]}``: one edge per (sender, receiver, protocol, port) between inventory
    hosts, wherever it was logged. A flow seen in several logs (the host's own and a gateway's) counts once: its
    ``count`` is the largest of the logs', ``seen_in`` names them. An edge is ``new`` when a compare of a log that
    holds it found that flow absent from its baseline (the baselines' flows are the baseline matrix)."""
    edges: dict = {}
    for logger, data in sorted(per_host.items()):
        new_keys = _new_flows(compares.get(logger))
        for key, flow in sorted((data.get("flows") or {}).items()):
            ends = _ends(logger, flow, known)
            if ends is None:
                continue
            edge = edges.setdefault(
                (*ends, flow["proto"], flow["dport"]),
                {"from": ends[0], "to": ends[1], "proto": flow["proto"], "dport": flow["dport"], "count": 0},
            )
            edge["count"] = max(edge["count"], flow["count"])
            edge.setdefault("seen_in", []).append(logger)
            edge["first_seen"] = min(filter(None, (edge.get("first_seen"), flow["first_seen"])), default=None)
            edge["new"] = edge.get("new", False) or bool(new_keys and key in new_keys)
    ordered = [
        {**edge, "seen_in": sorted(set(edge["seen_in"]))}
        for _key, edge in sorted(edges.items(), key=lambda item: (item[0][:3], item[0][3] is None, item[0][3] or 0))
    ]
    return {"edges": ordered, "new_edges": [edge for edge in ordered if edge["new"]]}
