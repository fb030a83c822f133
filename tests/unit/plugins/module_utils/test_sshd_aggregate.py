"""Adding up summaries (_sshd_aggregate): correlation across blocks, memory bounds, merging parts, times."""

from __future__ import annotations

from sshd_lines import START, accepted, failed, journal_summary, pam_failure, summarize, trad

from ansible_collections.fleetwatch.audit.plugins.module_utils import _sshd_aggregate
from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_aggregate import Aggregator
from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_clock import HORIZON, Clock
from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_parse import (
    DEFAULT_INTERNAL_NETWORKS,
    AddressBook,
    parse_networks,
)
from ansible_collections.fleetwatch.audit.plugins.module_utils._timestamps import get_zone

ADDR = "203.0.113.9"


def book():
    return AddressBook(parse_networks(DEFAULT_INTERNAL_NETWORKS))


def run(blocks, **options):
    """``(failures, accepted, totals)`` of the journal blocks ``blocks`` (lists of (seconds, pid, message))."""
    agg = Aggregator(book(), **options)
    for block in blocks:
        agg.add(journal_summary(block))
    agg.finish()
    return agg.result()


def counts(failures):
    return {(e["source"], e["user"], e["kind"]): e["count"] for e in failures}


# ---------------------------------------------------------------------------------------------- correlation


def test_a_pam_line_and_a_failed_line_of_one_pid_in_neighbouring_blocks_count_once():
    failures, _accepted, totals = run([[(0, 100, pam_failure(ADDR))], [(30, 100, failed("root", ADDR))]])
    assert counts(failures) == {(ADDR, "root", "failed_password"): 1}
    assert totals["attempts"] == 1 and totals["by_kind"] == {"failed_password": 1}


def test_a_pid_seen_again_beyond_the_horizon_is_another_connection():
    failures, _accepted, totals = run([[(0, 100, pam_failure(ADDR))], [(HORIZON + 1, 100, failed("root", ADDR))]])
    assert counts(failures) == {(ADDR, "root", "failed_password"): 1, (ADDR, "root", "pam_failure"): 1}
    assert totals["attempts"] == 2


def test_key_negotiation_of_a_connection_that_logs_in_a_block_later_is_no_failure():
    blocks = [
        [(0, 20, failed("deploy", "10.0.0.5", "publickey")), (1, 21, failed("deploy", "10.0.0.5", "publickey"))],
        [(2, 20, accepted("deploy", "10.0.0.5", "publickey"))],
    ]
    failures, accepted_entries, totals = run(blocks)
    assert counts(failures) == {("10.0.0.5", "deploy", "failed_publickey"): 1}  # pid 21 never logged in
    assert totals["attempts"] == 1 and totals["accepted"] == 1
    assert [(e["user"], e["source"], e["count"]) for e in accepted_entries] == [("deploy", "10.0.0.5", 1)]


# ---------------------------------------------------------------------------------------------- bounds


def test_external_sources_beyond_top_external_are_unlisted_internal_ones_never():
    block = [(i, 1000 + i, failed(user, "203.0.113.1")) for i, user in enumerate(["u1"] * 3 + ["u2"] * 2 + ["u3"])]
    block += [(10 + i, 2000 + i, failed("root", "203.0.113.2")) for i in range(4)]
    block += [(20, 3000, failed("root", "203.0.113.3")), (21, 3001, failed("root", "203.0.113.4"))]
    block += [(30 + i, 4000 + i, failed(user, "10.0.0.5")) for i, user in enumerate(["a", "b", "c"])]
    failures, _accepted, totals = run([block], top_external=2, max_entries=2)
    assert counts(failures) == {
        ("203.0.113.1", "u1", "failed_password"): 3,
        ("203.0.113.1", "u2", "failed_password"): 2,
        ("203.0.113.1", None, "other"): 1,  # beyond max_entries: one entry of kind other
        ("203.0.113.2", "root", "failed_password"): 4,
        ("10.0.0.5", "a", "failed_password"): 1,  # internal: every user, whatever max_entries
        ("10.0.0.5", "b", "failed_password"): 1,
        ("10.0.0.5", "c", "failed_password"): 1,
    }
    assert (totals["folded_sources"], totals["folded_attempts"], totals["folded_events"]) == (2, 2, 2)
    assert (totals["sources"], totals["internal_sources"], totals["internal_attempts"]) == (5, 1, 3)
    assert totals["attempts"] == 15 and totals["sources_with_other"] == 1


def test_pruned_detail_keeps_every_internal_user_and_exact_totals():
    big = ["198.51.100.%d" % i for i in range(1, 6)]
    first = [(i, 10 + i, failed("root", addr)) for i, addr in enumerate(big * 10)]
    small = ["203.0.%d.%d" % (i // 200, i % 200 + 1) for i in range(295)]
    second = [(100, 5000 + i, failed("root", addr)) for i, addr in enumerate(small)]
    second += [(200, 9000 + i, failed("user%04d" % i, "10.0.0.7")) for i in range(1200)]
    agg = Aggregator(book(), top_external=5, max_detail=1000)
    for block in (first, second):
        agg.add(journal_summary(block))
    agg.finish()
    assert agg.lossy  # the detail was pruned: some sources lost theirs
    failures, _accepted, totals = agg.result()
    internal = [e for e in failures if e["internal"]]
    assert len(internal) == 1200 and {e["count"] for e in internal} == {1}
    assert sorted((e["source"], e["count"]) for e in failures if not e["internal"]) == [(a, 10) for a in big]
    assert (totals["folded_sources"], totals["folded_attempts"], totals["folded_events"]) == (295, 295, 295)
    assert totals["attempts"] == 50 + 295 + 1200 and totals["sources"] == 301


def test_logins_beyond_the_bound_are_unlisted_and_stay_so(monkeypatch):
    monkeypatch.setattr(_sshd_aggregate, "MAX_ACCEPTED", 4)
    block = [(0, 1, accepted("admin", "10.0.0.5"))]
    for n, addr in zip(range(6, 0, -1), ["203.0.113.%d" % i for i in range(1, 7)]):
        block += [(1, 100 + i, accepted("bob", addr)) for i in range(n)]
    later = [(10, 2, accepted("bob", "203.0.113.4"))]  # counted 3 times before it was unlisted
    _failures, accepted_entries, totals = run([block, later])
    listed = [(e["source"], e["count"]) for e in accepted_entries]
    assert listed == [("10.0.0.5", 1), ("203.0.113.1", 6), ("203.0.113.2", 5)]  # internal: never unlisted
    assert totals["accepted"] == 23 and totals["accepted_folded"] == 4 + 3 + 2 + 1 + 1
    assert totals["accepted_users"] == 2


# ---------------------------------------------------------------------------------------------- merging


def parts():
    """Two parts of one log more than 2 x HORIZON apart: a connection cannot span them."""
    one = [
        (0, 100, "Invalid user admin from %s port 5" % ADDR),
        (1, 100, failed("invalid user admin", ADDR)),
        (2, 101, pam_failure(ADDR)),
        (3, 102, accepted("deploy", "10.0.0.5")),
    ]
    two = [
        (3 * HORIZON, 200, failed("invalid user admin", ADDR)),
        (3 * HORIZON + 1, 201, failed("root", "198.51.100.7")),
        (3 * HORIZON + 2, 202, accepted("deploy", "10.0.0.5")),
    ]
    return one, two


def test_merging_later_parts_gives_what_one_pass_gives():
    one, two = parts()
    whole = run([one, two])
    first, second = Aggregator(book()), Aggregator(book())
    for agg, block in ((first, one), (second, two)):
        agg.add(journal_summary(block))
        agg.finish()
    first.merge_later(second)
    assert first.result() == whole
    failures, accepted_entries, totals = whole
    assert counts(failures) == {
        (ADDR, "admin", "failed_password"): 2,
        (ADDR, "admin", "invalid_user"): 1,
        (ADDR, "root", "pam_failure"): 1,
        ("198.51.100.7", "root", "failed_password"): 1,
    }
    entry = next(e for e in failures if e["kind"] == "failed_password" and e["user"] == "admin")
    assert entry["count"] == 2 and (entry["first_seen"], entry["last_seen"]) == (
        "2025-10-01T00:00:01Z",
        "2025-10-01T00:30:00Z",
    )
    assert [(e["count"], e["first_seen"], e["last_seen"]) for e in accepted_entries] == [
        (2, "2025-10-01T00:00:03Z", "2025-10-01T00:30:02Z")
    ]
    assert totals["attempts"] == 4 and totals["by_kind"] == {
        "failed_password": 3,
        "invalid_user": 1,
        "pam_failure": 1,
    }


# ---------------------------------------------------------------------------------------------- times


def test_a_repeated_line_s_time_is_compared_not_taken():
    """A repeated line is tallied after the plain lines of its block: it must not become the last time."""
    block = [
        (3, 7, "message repeated 3 times: [ %s]" % failed("root", ADDR)),
        (4, 7, failed("root", ADDR)),
    ]
    failures, _accepted, _totals = run([block])
    assert [(e["count"], e["first_seen"], e["last_seen"]) for e in failures] == [
        (4, "2025-10-01T00:00:03Z", "2025-10-01T00:00:04Z")
    ]


def test_first_and_last_seen_of_a_file_clock():
    clock = Clock(get_zone("UTC"), last_year=2025)
    agg = Aggregator(book())
    for seconds in (5, 100, 50):
        agg.add(summarize(clock, [(trad(START + seconds).encode(), 7, failed("root", ADDR))]))
    agg.finish()
    failures, _accepted, _totals = agg.result()
    assert [(e["count"], e["first_seen"], e["last_seen"]) for e in failures] == [
        (3, "2025-10-01T00:00:05Z", "2025-10-01T00:00:50Z")  # the last line read, as logs are in time order
    ]
