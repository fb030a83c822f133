# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The check plug-in interface (docs/architecture.md) and what every check shares."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


class NotAbsorbable(ValueError):
    """An accepted finding that a baseline cannot absorb (a scan error recurs until its cause is fixed)."""


class Check:
    """One gatherer's judgement. Subclasses set ``name``, ``module`` and ``knobs`` and implement the methods."""

    name = ""
    module = ""  # short name of the gatherer module whose result ``normalize`` takes
    knobs: dict[str, object] = {}  # policy knob name -> default (its type is the knob's type)
    # knob name -> function giving what is wrong with a value, for knobs a type alone does not describe
    knob_validators: dict = {}

    def knob(self, context, name: str):
        """The policy's value of knob ``name`` for this check, or its default."""
        return context.policy.knob(self.name, name, self.knobs[name])

    def normalize(self, result: dict) -> dict:
        """What a baseline keeps of one module result; raise ``ValueError`` on a malformed result."""
        raise NotImplementedError

    def diff(self, host: str, baseline: dict, current: dict, context) -> list[dict]:
        """Findings between two normalised data sets of one host (``context``: a :class:`context.CheckContext`)."""
        raise NotImplementedError

    def inventory(self, current: dict) -> str:
        """One line saying what was audited (counts), so a clean result shows what it vouches for."""
        raise NotImplementedError

    def apply_accept(self, baseline: dict, current: dict, finding: dict) -> dict:
        """A new baseline (a copy) that absorbs one finding of ``diff(baseline, current)``, so that the same compare no
        longer reports it; what it takes in is decided by ``finding["rule"]``. Raise :class:`NotAbsorbable` for a
        rule no baseline can absorb."""
        raise NotImplementedError

    def fleet_observations(self, host: str, current: dict, context) -> Iterable[tuple]:
        """Facts compared across hosts: ``(kind, subject)`` for presence, ``(kind, subject, qualifier, value)`` for
        a value that hosts sharing the same kind, subject and qualifier should agree on."""
        raise NotImplementedError

    def observation_text(self, observation: tuple) -> str:
        """A clause describing one observation for a fleet finding's summary."""
        raise NotImplementedError

    def fleet_findings(self, per_host: Mapping[str, dict], context) -> list[dict]:
        """Findings only the whole fleet shows, from ``{host: normalised data}`` of every host that gathered this
        check; none by default."""
        return []

    def fleet_sections(self, per_host: Mapping[str, dict], compares: Mapping[str, dict | None], context) -> dict:
        """Sections this check adds to the fleet report (``{key: value}``), given each host's compare result (or
        ``None``); none by default."""
        return {}


class NoFleetObservations:
    """For a check whose data the fleet engine does not compare across hosts (no outliers)."""

    def fleet_observations(self, host: str, current: dict, context) -> Iterable[tuple]:
        return ()

    def observation_text(self, observation: tuple) -> str:
        return str(observation)


def text_value(value: object, what: str, allow_none: bool = False) -> str | None:
    """A string field of a gathered result (``None`` too when ``allow_none``); ``ValueError`` otherwise."""
    if value is None and allow_none:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string: {value!r:.80}")
    return value


def count_value(value: object, what: str) -> int:
    """A count field of a gathered result (an int of at least 0, not a bool); ``ValueError`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be a count: {value!r:.80}")
    return value


def source_errors(result: dict) -> list[dict]:
    """``[{name, error}]`` of a log gatherer's ``sources`` (what a baseline keeps of them; entries not mappings are
    left out)."""
    return [
        {"name": str(source.get("name")), "error": source.get("error")}
        for source in result.get("sources") or []
        if isinstance(source, dict)
    ]


def gatherer_error(result: object) -> str | None:
    """Why a registered gatherer result carries no data (failed, skipped, not a result), or ``None``."""
    if not isinstance(result, dict):
        return f"not a module result: {type(result).__name__}"
    if result.get("failed"):
        return f"gatherer failed: {result.get('msg') or 'no message'}"
    if result.get("skipped"):
        return f"gatherer skipped: {result.get('skip_reason') or result.get('msg') or 'no reason given'}"
    if result.get("unreachable"):
        return f"host unreachable: {result.get('msg') or 'no message'}"
    return None
