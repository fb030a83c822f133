"""The module's failures, accepted and totals from an aggregator (_sshd_result): entries, cuts, order."""

from __future__ import annotations

from sshd_lines import accepted, failed, journal_summary

from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_aggregate import Aggregator
from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_parse import (
    DEFAULT_INTERNAL_NETWORKS,
    AddressBook,
    parse_networks,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_result import build_result, kind_name

ADDR = "203.0.113.9"


def result(records, **options):
    agg = Aggregator(AddressBook(parse_networks(DEFAULT_INTERNAL_NETWORKS)), **options)
    agg.add(journal_summary(records))
    agg.finish()
    return build_result(agg)


def test_kind_names():
    assert kind_name(b"F", b"password") == "failed_password"
    assert kind_name(b"F", b"sorcery") == "failed_other"
    assert kind_name(b"I", b"") == "invalid_user"
    assert kind_name(b"C", b"") == "closed_preauth"


def test_raw_forms_of_one_entry_add_up_before_the_cut():
    """Invalid and illegal user, ::ffff:a.b.c.d and a.b.c.d: one entry of 4, listed before the entries of 3."""
    records = [
        (0, 1, failed("invalid user x", ADDR)),
        (1, 2, failed("illegal user x", ADDR)),
        (2, 3, failed("invalid user x", "::ffff:" + ADDR)),
        (3, 4, failed("illegal user x", "::ffff:" + ADDR)),
    ]
    records += [(10 + i, 10 + i, failed(user, ADDR)) for user in ("b", "a") for i in range(3)]
    failures, _accepted, totals = result(records, max_entries=2)
    assert [(e["user"], e["invalid_user"], e["kind"], e["count"]) for e in failures] == [
        ("x", True, "failed_password", 4),
        (None, None, "other", 3),  # b's: ties are cut by user, a before b, whatever the reading order
        ("a", False, "failed_password", 3),
    ]
    assert failures[0]["first_seen"] == "2025-10-01T00:00:00Z" and failures[0]["last_seen"] == "2025-10-01T00:00:03Z"
    assert totals["sources"] == 1 and totals["sources_with_other"] == 1


def test_a_failed_other_entry_names_its_method():
    failures, _accepted, totals = result([(0, 1, failed("root", ADDR, "sorcery"))])
    assert [(e["kind"], e["method"], e["count"]) for e in failures] == [("failed_other", "sorcery", 1)]
    assert totals["by_kind"] == {"failed_other": 1}


def test_accepted_entries_add_up_one_address_in_two_forms_and_are_sorted():
    records = [
        (0, 1, accepted("bob", ADDR)),
        (5, 2, accepted("bob", "::ffff:" + ADDR)),
        (6, 3, accepted("alice", "10.0.0.5", "publickey") + ": ED25519 SHA256:abc"),
    ]
    _failures, entries, totals = result(records)
    assert entries == [
        {
            "user": "alice",
            "source": "10.0.0.5",
            "internal": True,
            "method": "publickey",
            "key_type": "ED25519",
            "fingerprint": "SHA256:abc",
            "count": 1,
            "first_seen": "2025-10-01T00:00:06Z",
            "last_seen": "2025-10-01T00:00:06Z",
        },
        {
            "user": "bob",
            "source": ADDR,
            "internal": False,
            "method": "password",
            "key_type": None,
            "fingerprint": None,
            "count": 2,
            "first_seen": "2025-10-01T00:00:00Z",
            "last_seen": "2025-10-01T00:00:05Z",
        },
    ]
    assert (totals["accepted"], totals["accepted_folded"], totals["accepted_users"]) == (3, 0, 2)
