# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Exceptions of the controller-side engine."""

from __future__ import annotations


class FleetwatchError(Exception):
    """Base of every error the engine reports to the user (policy, store, engine)."""


class PolicyError(FleetwatchError):
    """The policy file is unreadable or invalid; ``errors`` lists each problem with its key path."""

    def __init__(self, source: str, errors: list[str]):
        self.source = source
        self.errors = list(errors)
        super().__init__(f"invalid policy {source}: " + "; ".join(self.errors))


class StoreError(FleetwatchError):
    """A store file could not be read or written; the message names the file."""
