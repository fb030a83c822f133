"""One block's summary (_sshd_summary): what a block settles alone, and what waits for its neighbours."""

from __future__ import annotations

from sshd_lines import START, accepted, failed, pam_failure, summarize

from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_clock import JOURNAL_CLOCK

ADDR = "203.0.113.9"


def at(seconds):
    return START + float(seconds)


def test_a_pam_line_and_a_failed_line_of_one_pid_are_one_attempt():
    summary = summarize(JOURNAL_CLOCK, [(at(0), 100, pam_failure(ADDR)), (at(1), 100, failed("root", ADDR))])
    assert summary.pam == {} and not summary.pending()
    assert summary.attempt_addrs == [ADDR.encode()]
    assert dict(summary.kinds) == {(b"F", b"password"): 1}


def test_a_pam_failure_alone_waits_for_the_neighbouring_blocks():
    summary = summarize(JOURNAL_CLOCK, [(at(0), 101, pam_failure(ADDR)), (at(3), 101, pam_failure(ADDR))])
    assert summary.pending()
    assert summary.pam == {b"101": (ADDR.encode(), b"root", b"", 2, at(0), at(3))}
    assert summary.attempt_addrs == [] and dict(summary.kinds) == {}


def test_settling_counts_a_pending_pam_failure_when_no_neighbour_has_a_failed_line_of_its_pid():
    summary = summarize(JOURNAL_CLOCK, [(at(0), 101, pam_failure(ADDR)), (at(3), 101, pam_failure(ADDR))])
    other = summarize(JOURNAL_CLOCK, [(at(5), 999, failed("root", ADDR))])
    keys, tokens, key_addrs, attempt_addrs, weighted, kinds = summary.settle([other])
    key = (b"P", b"root", b"", ADDR.encode())
    assert weighted == [(key, ADDR.encode(), at(0), 1, True), (key, ADDR.encode(), at(3), 1, True)]
    assert dict(kinds) == {(b"P", b""): 2}
    assert (keys, tokens, key_addrs, attempt_addrs) == ([], [], [], [])
    assert not summary.pending()


def test_settling_drops_a_pending_pam_failure_whose_pid_failed_in_a_neighbour():
    summary = summarize(JOURNAL_CLOCK, [(at(0), 101, pam_failure(ADDR))])
    other = summarize(JOURNAL_CLOCK, [(at(5), 101, failed("root", ADDR))])
    assert summary.settle([other]) == ([], [], [], [], [], {})


def test_key_negotiation_is_dropped_when_the_connection_logs_in():
    records = [
        (at(0), 20, failed("deploy", "10.0.0.5", "publickey")),
        (at(1), 20, accepted("deploy", "10.0.0.5", "publickey")),
        (at(2), 21, failed("deploy", "10.0.0.5", "publickey")),
    ]
    summary = summarize(JOURNAL_CLOCK, records)
    assert [item[0] for item in summary.noaccept] == [b"21"]  # pid 20 logged in: negotiation, not a failure
    assert summary.accepted == {(b"deploy", b"10.0.0.5", b"publickey", b"", b""): 1}


def test_a_connection_closed_during_authentication_counts_only_without_other_failures():
    closed = "Connection closed by authenticating user alice %s port 5 [preauth]" % ADDR
    summary = summarize(JOURNAL_CLOCK, [(at(0), 30, closed), (at(1), 31, failed("bob", ADDR)), (at(2), 31, closed)])
    assert list(summary.noevidence) == [b"30"]  # pid 31 failed: its close is no failure of its own
    keys, tokens, key_addrs, attempt_addrs, _weighted, kinds = summary.settle([])
    assert keys == [(b"C", b"alice", b"authenticating", ADDR.encode())]
    assert tokens == [at(0)] and key_addrs == attempt_addrs == [ADDR.encode()]
    assert dict(kinds) == {(b"C", b""): 1}


def test_repeated_and_unparsed_lines():
    records = [
        (at(0), 7, "message repeated 3 times: [ %s]" % failed("root", ADDR)),
        (at(1), 7, "Failed sorcery for root"),
    ]
    summary = summarize(JOURNAL_CLOCK, records)
    key = b"Failed password for root from " + ADDR.encode()  # a Failed line's key is its own text
    assert summary.weighted == [(key, ADDR.encode(), at(0), 3, True)]
    assert dict(summary.kinds) == {(b"F", b"password"): 3}
    assert (summary.rows, summary.unparsed, summary.samples) == (2, 1, [b"Failed sorcery for root"])
