# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The firewall's output policy, read-only, for ``egress_probe`` (private to the collection; target side, Python 3.8+).

``nft -j list ruleset`` first, else ``iptables-save`` and ``ip6tables-save``. The output is dropped by default only
when every address family read is dropped: one family left open is a way out.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

from ansible_collections.fleetwatch.audit.plugins.module_utils._rootview import error_text

MAX_EVIDENCE = 4096
COMMAND_TIMEOUT = 10
# Modules may run with a PATH that lacks the sbin directories where the firewall tools live.
SEARCH_PATH = ":/usr/sbin:/sbin:/usr/bin:/bin"
# The address families an nftables table filters (arp, bridge and netdev tables never see output traffic).
NFT_FAMILIES = {"ip": ("ip",), "ip6": ("ip6",), "inet": ("ip", "ip6")}


class PolicyError(Exception):
    """A tool that is missing or failed; the message says which and why."""


def read_policy():
    """The ``policy`` result: the first tool that answers, else every tool's error."""
    errors = []
    for reader in (_read_nft, _read_iptables):
        try:
            return reader()
        except PolicyError as exc:
            errors.append(str(exc))
    return {"tool": None, "output_policy": None, "output_rules": None, "evidence": "", "error": "; ".join(errors)}


def _run(tool, *args):
    """Standard output of a firewall tool, or PolicyError."""
    path = shutil.which(tool, path=os.environ.get("PATH", "") + SEARCH_PATH)
    if path is None:
        raise PolicyError("%s: not found" % tool)
    try:
        proc = subprocess.run(
            [path, *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=COMMAND_TIMEOUT,
            env=dict(os.environ, LC_ALL="C"),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PolicyError("%s: %s" % (tool, error_text(exc))) from exc
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise PolicyError("%s: exit %d%s" % (tool, proc.returncode, ": " + message[0] if message else ""))
    return proc.stdout.decode("utf-8", "replace")


def _read_nft():
    try:
        ruleset = json.loads(_run("nft", "-j", "list", "ruleset"))
    except ValueError as exc:
        raise PolicyError("nft: output is not JSON: %s" % exc) from exc
    return nft_policy(ruleset)


def _read_iptables():
    texts = {"ip": _run("iptables-save")}
    try:
        texts["ip6"] = _run("ip6tables-save")
    except PolicyError as exc:
        texts["ip6"] = None
        ip6_error = str(exc)
    else:
        ip6_error = None
    result = iptables_policy(texts)
    result["error"] = ip6_error
    return result


def nft_policy(ruleset):
    """The policy of an ``nft -j list ruleset`` document: its chains on the output hook and their rules."""
    items = ruleset.get("nftables", []) if isinstance(ruleset, dict) else []
    chains = [item["chain"] for item in items if isinstance(item, dict) and _is_output_chain(item.get("chain"))]
    keys = {(c.get("family"), c.get("table"), c.get("name")): c for c in chains}
    rules = {key: [] for key in keys}
    for item in items:
        rule = item.get("rule") if isinstance(item, dict) else None
        key = (rule.get("family"), rule.get("table"), rule.get("chain")) if isinstance(rule, dict) else None
        if key in rules:
            rules[key].append(rule)
    dropped = {family for c in chains if c.get("policy") == "drop" for family in NFT_FAMILIES[c["family"]]}
    lines = []
    for key, chain in keys.items():
        lines.append(
            "table %s %s chain %s: hook output priority %s policy %s"
            % (key[0], key[1], key[2], chain.get("prio"), chain.get("policy", "accept"))
        )
        lines.extend("  " + _rule_text(rule) for rule in rules[key])
    return _policy("nft", dropped >= {"ip", "ip6"}, sum(map(len, rules.values())), lines)


def _rule_text(rule):
    """A rule's expressions as JSON, without its counters: the same rules give the same evidence on every run."""
    expressions = [e for e in rule.get("expr") or [] if not (isinstance(e, dict) and "counter" in e)]
    return json.dumps(expressions, sort_keys=True)


def _is_output_chain(chain):
    return isinstance(chain, dict) and chain.get("hook") == "output" and chain.get("family") in NFT_FAMILIES


def iptables_policy(texts):
    """The policy of ``{"ip": iptables-save text, "ip6": ip6tables-save text or None}``: the filter table's OUTPUT."""
    dropped, rules, lines = True, 0, []
    for family, text in texts.items():
        if text is None:
            continue
        policy, family_rules = _filter_output(text)
        dropped = dropped and policy == "DROP"
        rules += len(family_rules)
        lines.append("%s: :OUTPUT %s" % (family, policy or "(no filter table: nothing filters)"))
        lines.extend("%s: %s" % (family, rule) for rule in family_rules)
    return _policy("iptables", dropped, rules, lines)


def _filter_output(text):
    """``(OUTPUT policy or None, [-A OUTPUT lines])`` of the ``*filter`` table of one iptables-save text."""
    policy, rules, table = None, [], None
    for line in text.splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
        elif table != "filter":
            continue
        elif line.startswith(":OUTPUT "):
            policy = line.split()[1]
        elif line.startswith("-A OUTPUT "):
            rules.append(line)
    return policy, rules


def _policy(tool, dropped, rules, lines):
    return {
        "tool": tool,
        "output_policy": "drop" if dropped else "accept",
        "output_rules": rules,
        "evidence": bounded("\n".join(lines)),
        "error": None,
    }


def bounded(text, limit=MAX_EVIDENCE):
    """``text`` cut to at most ``limit`` bytes of UTF-8, with a marker saying how much was cut."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    marker = "\n...[cut: %d bytes in all]" % len(data)
    return data[: limit - len(marker)].decode("utf-8", "ignore") + marker
