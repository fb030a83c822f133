"""sshd_auth_info's reading and counting (gather): correlation, kinds, sources, bounds. Fixtures are our own lines."""

from __future__ import annotations

import gzip
import os
import random

import pytest
from sshd_lines import START, attempt_invalid_password, line, rfc, trad, write

from ansible_collections.fleetwatch.audit.plugins.module_utils import _sshd_scan as S
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource import files as log_files
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource import sources as log_sources
from ansible_collections.fleetwatch.audit.plugins.module_utils._logsource.journal import Event
from ansible_collections.fleetwatch.audit.plugins.module_utils._rootview import RootView

MTIME = START + 10 * 86400  # 2025-10-11: the year of traditional timestamps


def run(root, **options):
    options.setdefault("since", "all")
    options.setdefault("timezone", "UTC")
    options.setdefault("sources", [{"path": "/var/log/auth.log"}])
    return S.gather(root=str(root), **options)


@pytest.fixture
def auth(tmp_path):
    """Write ``lines`` as the root's /var/log/auth.log and return the result of gather."""

    def make(lines, **options):
        write(tmp_path / "var/log/auth.log", lines, mtime=MTIME)
        return run(tmp_path, **options)

    return make


def entries(result, **match):
    return [e for e in result["failures"] if all(e.get(k) == v for k, v in match.items())]


def kinds(result):
    return {(e["source"], e["user"], e["kind"]): e["count"] for e in result["failures"]}


# ---------------------------------------------------------------------------------------------- correlation


@pytest.mark.parametrize("program", ["sshd", "sshd-session", "sshd-auth"])
def test_one_attempt_logged_by_four_lines_counts_once(auth, program):
    result = auth(attempt_invalid_password(START, 1000, "admin", "203.0.113.9", 51234, program))
    assert result["totals"]["attempts"] == 1
    assert result["totals"]["by_kind"] == {"failed_password": 1, "invalid_user": 1}
    assert kinds(result) == {
        ("203.0.113.9", "admin", "invalid_user"): 1,
        ("203.0.113.9", "admin", "failed_password"): 1,
    }
    entry = entries(result, kind="failed_password")[0]
    assert entry["invalid_user"] is True and entry["internal"] is False
    assert entry["first_seen"] == entry["last_seen"] == "2025-10-01T00:00:02Z"
    assert result["totals"]["auth_lines"] == 4 and result["totals"]["lines"] == 5


def test_each_password_try_is_an_attempt(auth):
    lines = [
        line(START, 7, "Failed password for root from 198.51.100.7 port 40000 ssh2"),
        line(START + 2, 7, "Failed password for root from 198.51.100.7 port 40000 ssh2"),
        line(START + 4, 7, "message repeated 3 times: [ Failed password for root from 198.51.100.7 port 40000 ssh2]"),
        line(
            START + 5,
            7,
            "error: maximum authentication attempts exceeded for root from 198.51.100.7 port 40000 ssh2 [preauth]",
        ),
        line(
            START + 5,
            7,
            "Disconnecting authenticating user root 198.51.100.7 port 40000: Too many authentication"
            " failures [preauth]",
        ),
    ]
    result = auth(lines)
    assert kinds(result) == {
        ("198.51.100.7", "root", "failed_password"): 5,
        ("198.51.100.7", "root", "too_many_failures"): 1,
    }
    assert result["totals"]["attempts"] == 5


def test_connections_without_a_failed_line(auth):
    lines = [
        # an unknown user that only probed (no password): one attempt, kind invalid_user only
        line(START, 1, "Invalid user admin from 203.0.113.1 port 1"),
        line(START + 1, 1, "Connection closed by invalid user admin 203.0.113.1 port 1 [preauth]"),
        # a valid user that gave up during authentication: closed_preauth
        line(START + 2, 2, "Connection closed by authenticating user root 203.0.113.2 port 2 [preauth]"),
        # refused ones
        line(START + 3, 3, "User bob from 203.0.113.3 not allowed because not listed in AllowUsers"),
        line(START + 3, 3, "Connection closed by authenticating user bob 203.0.113.3 port 3 [preauth]"),
        line(START + 4, 4, "ROOT LOGIN REFUSED FROM 203.0.113.4"),
        # banner grabbers are not attempts
        line(START + 5, 5, "Connection closed by 203.0.113.5 port 5 [preauth]"),
        line(START + 6, 6, "Received disconnect from 203.0.113.6 port 6:11: Bye Bye [preauth]"),
    ]
    result = auth(lines)
    assert kinds(result) == {
        ("203.0.113.1", "admin", "invalid_user"): 1,
        ("203.0.113.2", "root", "closed_preauth"): 1,
        ("203.0.113.3", "bob", "not_allowed"): 1,
        ("203.0.113.4", "root", "root_refused"): 1,
    }
    assert result["totals"]["attempts"] == 4 and result["totals"]["sources"] == 4


def test_pam_only_failures_old_syslog(auth):
    """sshd(pam_unix) wrote only PAM's view (Linux 2.6 era): each failure counts, 1 + the N more."""
    lines = [
        "Jun 15 12:12:34 combo sshd(pam_unix)[23397]: check pass; user unknown",
        "Jun 15 12:12:34 combo sshd(pam_unix)[23397]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh "
        "ruser= rhost=218.188.2.4 ",
        "Jun 15 12:12:40 combo sshd(pam_unix)[23398]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh "
        "ruser= rhost=218.188.2.4  user=root",
        "Jun 15 12:12:50 combo sshd(pam_unix)[23398]: PAM 2 more authentication failures; logname= uid=0 euid=0 "
        "tty=NODEVssh ruser= rhost=218.188.2.4  user=root",
    ]
    result = auth(lines)
    assert kinds(result) == {("218.188.2.4", "", "pam_failure"): 1, ("218.188.2.4", "root", "pam_failure"): 3}
    assert entries(result, user="")[0]["invalid_user"] is True
    assert entries(result, user="root")[0]["invalid_user"] is False
    assert result["totals"]["attempts"] == 4


def test_pam_lines_next_to_sshd_lines_add_nothing(auth):
    lines = [
        line(
            START,
            9,
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser="
            " rhost=h.example.net  user=root",
        ),
        line(START + 2, 9, "Failed password for root from 192.0.2.50 port 3 ssh2"),
        line(
            START + 9,
            9,
            "PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=h.example.net  user=root",
        ),
    ]
    result = auth(lines)
    assert kinds(result) == {("192.0.2.50", "root", "failed_password"): 1}


def test_key_negotiation_before_a_login_is_not_a_failure(auth):
    lines = [
        line(START, 20, "Failed publickey for deploy from 10.0.0.5 port 9 ssh2: RSA SHA256:old"),
        line(START + 1, 20, "Accepted publickey for deploy from 10.0.0.5 port 9 ssh2: ED25519 SHA256:new"),
        line(START + 5, 21, "Failed publickey for root from 10.0.0.6 port 10 ssh2: ED25519 SHA256:stranger"),
        line(START + 6, 21, "Connection closed by authenticating user root 10.0.0.6 port 10 [preauth]"),
    ]
    result = auth(lines)
    assert kinds(result) == {("10.0.0.6", "root", "failed_publickey"): 1}
    assert entries(result)[0]["internal"] is True
    assert result["accepted"] == [
        {
            "user": "deploy",
            "source": "10.0.0.5",
            "internal": True,
            "method": "publickey",
            "key_type": "ED25519",
            "fingerprint": "SHA256:new",
            "count": 1,
            "first_seen": "2025-10-01T00:00:01Z",
            "last_seen": "2025-10-01T00:00:01Z",
        }
    ]
    assert result["totals"]["accepted"] == 1 and result["totals"]["accepted_users"] == 1


def test_lines_without_address_take_their_connection_s(auth):
    lines = [
        line(START, 30, "Failed password for root from 198.51.100.30 port 1 ssh2"),
        line(START + 1, 30, "Disconnecting: Too many authentication failures for root [preauth]"),
    ]
    assert kinds(auth(lines)) == {
        ("198.51.100.30", "root", "failed_password"): 1,
        ("198.51.100.30", "root", "too_many_failures"): 1,
    }


def random_noise(count, seed=7, start=START, programs=("sshd", "sshd-session")):
    """Many connections whose lines interleave (as in a real log: in time order, several connections at once), and
    the kinds they make."""
    rng = random.Random(seed)
    timed, expected = [], {}
    for index in range(count):
        when = start + index * 0.5 + rng.random() * 3
        addr = "203.0.%d.%d" % (rng.randint(0, 3), rng.randint(1, 20))
        user = rng.choice(["admin", "test", "oracle"])
        conn = attempt_invalid_password(int(when), 100 + index, user, addr, 1000 + index, rng.choice(programs))
        for offset, text in enumerate(conn):
            timed.append((int(when) + min(offset, 2), index, offset, text))
        expected[(addr, user, "invalid_user")] = expected.get((addr, user, "invalid_user"), 0) + 1
        expected[(addr, user, "failed_password")] = expected.get((addr, user, "failed_password"), 0) + 1
    timed.sort()
    return [text for _when, _index, _offset, text in timed], expected


def test_interleaved_connections_and_small_blocks(tmp_path):
    lines, expected = random_noise(400)
    write(tmp_path / "var/log/auth.log", lines, mtime=MTIME)
    big = run(tmp_path)
    small = run(tmp_path, chunk_size=2048)
    assert kinds(big) == expected
    assert kinds(small) == expected
    assert big["totals"]["attempts"] == small["totals"]["attempts"] == 400


def test_worker_processes_give_the_same_result(tmp_path, monkeypatch):
    lines, expected = random_noise(3000, seed=3)
    write(tmp_path / "var/log/auth.log", lines, mtime=MTIME)
    one = run(tmp_path, workers=1, chunk_size=16384)
    monkeypatch.setattr(S, "PARALLEL_MIN_SIZE", 0)
    three = run(tmp_path, workers=3, chunk_size=16384)
    assert kinds(three) == kinds(one) == expected
    for field in ("attempts", "by_kind", "sources", "lines", "auth_lines"):
        assert three["totals"][field] == one["totals"][field]
    assert sorted(three["failures"], key=str) == sorted(one["failures"], key=str)


# ---------------------------------------------------------------------------------------------- formats, time


@pytest.mark.parametrize("repeats", [(2, 4), (1, 1)])
@pytest.mark.parametrize("via", ["file", "journal"])
def test_first_and_last_seen_with_repeated_lines(tmp_path, monkeypatch, via, repeats):
    """Repeated lines are counted apart from the common ones of their block: they must still not move first_seen
    later or last_seen earlier (seen on a generated log: last_seen was a repeat's time, before the last try)."""
    failed = "Failed password for root from 198.51.100.7 port %d ssh2"
    lines = [
        line(START + 3599, 7, failed % 1),  # 00:59:59, outside the window below: its repeat is the first event
        line(START + 3601, 7, "message repeated %d times: [ %s]" % (repeats[0], failed % 1)),
        line(START + 3700, 8, failed % 2),
        line(START + 3800, 9, failed % 3),
        line(START + 3801, 9, "message repeated %d times: [ %s]" % (repeats[1], failed % 3)),
        line(START + 6000, 10, failed % 4),  # 01:40:00, the last try
    ]
    if via == "file":
        write(tmp_path / "var/log/auth.log", lines, mtime=MTIME)
        result = run(tmp_path, since="2025-10-01T01:00:00Z")
    else:
        monkeypatch.setattr(log_sources, "JournalSource", FakeJournal)
        FakeJournal.entries = [
            (START + offset, pid, msg)
            for offset, (pid, msg) in zip((3599, 3601, 3700, 3800, 3801, 6000), as_entries(lines))
            if offset >= 3600
        ]
        result = S.gather(root=str(tmp_path), since="all", sources=[{"journal": {}}])
    [entry] = entries(result, source="198.51.100.7")
    assert entry["count"] == repeats[0] + 1 + 1 + repeats[1] + 1
    assert entry["first_seen"] == "2025-10-01T01:00:01Z"
    assert entry["last_seen"] == "2025-10-01T01:40:00Z"


def test_entries_listed_per_source_do_not_depend_on_reading_order(auth):
    """With more entries than max_entries_per_source, ties are broken by user and kind, not by which came first."""
    users = ["u%02d" % index for index in range(25)]
    lines = [
        line(START + index, 100 + index, f"Failed password for {user} from 203.0.113.50 port {index + 1} ssh2")
        for index, user in enumerate(reversed(users))
    ]
    result = auth(lines, max_entries_per_source=20)
    listed = entries(result, source="203.0.113.50")
    assert sorted(e["user"] for e in listed if e["kind"] == "failed_password") == users[:20]
    assert [e["count"] for e in listed if e["kind"] == "other"] == [5]


def test_rfc3339_and_ipv6_sources(auth):
    lines = [
        line(START, 1, "Invalid user admin from 2001:0db8::0001 port 1", stamp=rfc),
        line(START + 1, 1, "Failed password for invalid user admin from 2001:0db8::0001 port 1 ssh2", stamp=rfc),
        line(START + 2, 2, "Failed password for root from ::ffff:198.51.100.9 port 2 ssh2", stamp=rfc),
        line(START + 3, 3, "Failed password for root from 198.51.100.9 port 3 ssh2", stamp=rfc),
        line(START + 4, 4, "Failed password for root from fe80::1%eth0 port 4 ssh2", stamp=rfc),
    ]
    result = auth(lines)
    assert kinds(result) == {
        ("2001:db8::1", "admin", "invalid_user"): 1,
        ("2001:db8::1", "admin", "failed_password"): 1,
        ("198.51.100.9", "root", "failed_password"): 2,
        ("fe80::1%eth0", "root", "failed_password"): 1,
    }
    assert entries(result, source="198.51.100.9")[0]["first_seen"] == "2025-10-01T00:00:02Z"
    assert entries(result, source="fe80::1%eth0")[0]["internal"] is True


def test_window_since_until(auth):
    lines = [
        line(START + hour * 3600, hour, f"Failed password for root from 192.0.2.{hour} port 1 ssh2")
        for hour in range(6)
    ]
    result = auth(lines, since="2025-10-01T02:00:00Z", until="2025-10-01T03:59:00Z")
    assert sorted(e["source"] for e in result["failures"]) == ["192.0.2.2", "192.0.2.3"]
    assert result["since"] == "2025-10-01T02:00:00Z" and result["until"] == "2025-10-01T04:00:00Z"
    assert result["sources"][0]["outside_window"] == 4


def test_year_of_traditional_timestamps_across_new_year(tmp_path):
    lines = [
        "Dec 31 23:59:58 web1 sshd[1]: Failed password for root from 192.0.2.1 port 1 ssh2",
        "Jan  1 00:00:03 web1 sshd[2]: Failed password for root from 192.0.2.1 port 2 ssh2",
    ]
    write(tmp_path / "var/log/auth.log", lines, mtime=1767312000)  # 2026-01-02
    result = run(tmp_path)
    entry = result["failures"][0]
    assert (entry["count"], entry["first_seen"], entry["last_seen"]) == (
        2,
        "2025-12-31T23:59:58Z",
        "2026-01-01T00:00:03Z",
    )
    assert result["sources"][0]["files"][0]["year"] == 2026
    assert run(tmp_path, year=2030)["failures"][0]["first_seen"] == "2029-12-31T23:59:58Z"


def test_rotated_files_oldest_first(tmp_path):
    logs = tmp_path / "var/log"
    old = [line(START, 1, "Failed password for root from 192.0.2.9 port 1 ssh2")]
    new = [line(START + 86400, 2, "Failed password for root from 192.0.2.9 port 2 ssh2")]
    logs.mkdir(parents=True)
    (logs / "auth.log.2.gz").write_bytes(gzip.compress(("\n".join(old) + "\n").encode()))
    os.utime(logs / "auth.log.2.gz", (START + 60, START + 60))
    write(logs / "auth.log", new, mtime=MTIME)
    result = run(tmp_path)
    entry = result["failures"][0]
    assert (entry["count"], entry["first_seen"], entry["last_seen"]) == (
        2,
        "2025-10-01T00:00:00Z",
        "2025-10-02T00:00:00Z",
    )
    files = result["sources"][0]["files"]
    assert [(f["path"], f["compression"]) for f in files] == [
        ("/var/log/auth.log.2.gz", "gzip"),
        ("/var/log/auth.log", None),
    ]


def test_crlf_and_missing_last_newline(tmp_path):
    path = tmp_path / "var/log/auth.log"
    path.parent.mkdir(parents=True)
    text = line(START, 1, "Invalid user a from 192.0.2.1") + "\r\n" + line(START, 2, "Invalid user b from 192.0.2.1")
    path.write_bytes(text.encode())
    os.utime(path, (MTIME, MTIME))
    assert kinds(run(tmp_path)) == {("192.0.2.1", "a", "invalid_user"): 1, ("192.0.2.1", "b", "invalid_user"): 1}


def test_garbage_never_breaks_the_count(tmp_path):
    path = tmp_path / "var/log/auth.log"
    path.parent.mkdir(parents=True)
    rng = random.Random(1)
    junk = bytes(rng.randrange(256) for _index in range(20000))
    good = line(START, 1, "Failed password for root from 192.0.2.1 port 1 ssh2").encode()
    odd = line(START, 2, "Failed password for root from").encode()
    truncated = trad(START).encode() + b" web1 sshd[3]: Invalid user x"
    path.write_bytes(
        junk + b"\n" + good + b"\n\x00\xff\n" + odd + b"\n" + b"x" * 100000 + b"\n" + truncated + b"\n" + good + b"\n"
    )
    os.utime(path, (MTIME, MTIME))
    result = run(tmp_path, chunk_size=4096)
    assert kinds(result) == {("192.0.2.1", "root", "failed_password"): 2}
    assert result["totals"]["unparsed"] == 2
    assert len(result["totals"]["unparsed_samples"]) == 2


# ---------------------------------------------------------------------------------------------- attacker names


NAMES = [
    "john smith",
    "o'brien\"",
    "<script>alert(1)</script>",
    "\x1b[31mred\x1b[0m",
    "x from 10.0.0.5 port 22 ssh2",
    "A" * 4096,
    "caf\udcc3\udca9 \udcff",
]


def test_attacker_chosen_user_names(auth):
    lines = []
    for index, name in enumerate(NAMES):
        lines += attempt_invalid_password(
            START + index * 10, 500 + index, name, "198.51.100.77", 1000 + index, pam=False
        )
    result = auth(lines, max_user_length=64, max_entries_per_source=0)
    users = {e["user"] for e in result["failures"]}
    assert users == {
        "john smith",
        "o'brien\"",
        "<script>alert(1)</script>",
        "\\x1b[31mred\\x1b[0m",
        "x from 10.0.0.5 port 22 ssh2",
        "A" * 64 + "\\...[4096 bytes]",
        "café \\xff",
    }
    assert {e["source"] for e in result["failures"]} == {"198.51.100.77"}
    assert result["totals"]["by_kind"] == {"failed_password": 7, "invalid_user": 7}
    assert all(e["internal"] is False for e in result["failures"])


# ---------------------------------------------------------------------------------------------- bounds


def test_a_hundred_thousand_sources_stay_bounded(tmp_path):
    lines = []
    for index in range(100000):
        addr = "%d.%d.%d.%d" % (11 + index // 65536, (index // 256) % 256, index % 256, 7)
        lines.append(line(START + index // 50, 1000 + index, f"Failed password for root from {addr} port 1 ssh2"))
    heavy = [
        line(START + 3000, 900000 + i, f"Failed password for admin{i % 30} from 198.51.100.200 port 2 ssh2")
        for i in range(600)
    ]
    inside = [line(START + 3001, 990000 + i, f"Invalid user u{i} from 10.1.2.3 port 3") for i in range(150)]
    write(tmp_path / "var/log/auth.log", lines + heavy + inside, mtime=MTIME)
    result = run(tmp_path, top_external=50)
    totals = result["totals"]
    assert totals["sources"] == 100002 and totals["internal_sources"] == 1
    assert totals["attempts"] == 100000 + 600 + 150
    assert totals["folded_sources"] == 100001 - 50
    external = {e["source"] for e in result["failures"] if not e["internal"]}
    assert len(external) == 50 and "198.51.100.200" in external
    heavy_entries = entries(result, source="198.51.100.200")
    assert len(heavy_entries) == 21  # 20 users listed, the other ten in one entry of kind other
    assert sum(e["count"] for e in heavy_entries) == 600
    assert entries(result, source="198.51.100.200", kind="other")[0]["count"] == 200
    # internal sources are never folded: every user listed
    assert len(entries(result, source="10.1.2.3")) == 150
    assert len(result["failures"]) <= 50 * 21 + 150


@pytest.mark.parametrize("workers", [1, 2])
def test_every_entry_listed_is_true_when_detail_is_bounded(tmp_path, monkeypatch, workers):
    """Beyond 50,000 (source, user, kind) keys the detail is bounded: a source may lose events, in one worker's
    part or before it became a top source. An entry it lists must still count every event of its key, from its first
    to its last (the rest is its "other" entry): this failed with two workers before keys that may have missed events
    were told apart."""
    rng = random.Random(11)
    noisy = ["198.51.100.%d" % index for index in range(1, 40)]
    lines, truth, first, last = [], {}, {}, {}
    for index in range(130000):
        when = START + index // 20
        if rng.random() < 0.85:  # one-off internet noise, fills the detail
            addr = "%d.%d.%d.9" % (11 + index // 65536, (index // 256) % 256, index % 256)
            user = "root"
        else:  # sources that come back, some only late, with many users
            addr = rng.choice(noisy[: 10 + index * 30 // 130000])
            user = "u%d" % rng.randint(0, 60)
        lines.append(line(when, 1000 + index, f"Failed password for {user} from {addr} port 1 ssh2"))
        key = (addr, user)
        truth[key] = truth.get(key, 0) + 1
        first.setdefault(key, when)
        last[key] = when
    write(tmp_path / "var/log/auth.log", lines, mtime=MTIME)
    monkeypatch.setattr(S, "PARALLEL_MIN_SIZE", 0)
    result = run(tmp_path, workers=workers, chunk_size=1 << 20)
    listed = [e for e in result["failures"] if e["kind"] == "failed_password"]
    assert len(listed) > 200 and any(e["kind"] == "other" for e in result["failures"])
    for entry in listed:
        key = (entry["source"], entry["user"])
        assert (entry["count"], entry["first_seen"], entry["last_seen"]) == (
            truth[key],
            S.iso_utc(first[key]),
            S.iso_utc(last[key]),
        ), key
    assert result["totals"]["attempts"] == 130000
    by_source = {}
    for entry in result["failures"]:
        by_source[entry["source"]] = by_source.get(entry["source"], 0) + entry["count"]
    assert all(
        by_source[source] == sum(n for (addr, _user), n in truth.items() if addr == source) for source in by_source
    )


def test_every_login_listed_is_true_when_logins_are_bounded(auth):
    """Beyond 20,000 distinct external logins the least frequent are folded; one seen again later is not listed with
    a partial count (it stays in accepted_folded)."""
    lines, truth = [], {}
    sources = ["%d.%d.%d.9" % (11 + index // 65536, (index // 256) % 256, index % 256) for index in range(25000)]
    for index, addr in enumerate(sources + sources[15000:15050] + sources[:50]):
        lines.append(line(START + index // 10, 1000 + index, f"Accepted password for deploy from {addr} port 2 ssh2"))
        truth[addr] = truth.get(addr, 0) + 1
    result = auth(lines, chunk_size=65536)  # blocks of 64 KiB: folded long before the last lines are read
    listed = result["accepted"]
    assert all(entry["count"] == truth[entry["source"]] for entry in listed)
    assert set(sources[:50]) <= {entry["source"] for entry in listed if entry["count"] == 2}  # kept, never folded
    assert result["totals"]["accepted"] == 25100
    assert result["totals"]["accepted_folded"] + sum(entry["count"] for entry in listed) == 25100


# ---------------------------------------------------------------------------------------------- journal, discovery


class FakeJournal:
    """Stands in for JournalSource: its events are the messages of ``lines`` (time, pid, message)."""

    entries: list = []
    kind = "journal"

    def __init__(self, root="/", matches=(), directory=None, files=(), name=None):
        self.name = name or "journal"
        self.matches = list(matches)
        self.result = None

    def events(self, since=None, until=None, fields=()):
        class Result:
            warnings = []

            def as_dict(self):
                return {"name": "journal", "kind": "journal", "lines": len(FakeJournal.entries), "error": None}

        self.result = Result()
        for when, pid, message in FakeJournal.entries:
            if (since is None or when >= since) and (until is None or when < until):
                yield Event(float(when), message.encode(), {"_PID": str(pid).encode()}, None)


def as_entries(lines):
    out = []
    for text in lines:
        head, _sep, message = text.partition("]: ")
        pid = int(head.rsplit("[", 1)[1])
        out.append((pid, message))
    return out


def test_journal_reads_the_same_as_files(tmp_path, monkeypatch):
    lines, expected = random_noise(300, seed=11)
    monkeypatch.setattr(log_sources, "JournalSource", FakeJournal)
    FakeJournal.entries = [(START + i, pid, msg) for i, (pid, msg) in enumerate(as_entries(lines))]
    result = S.gather(root=str(tmp_path), since="all", sources=[{"journal": {}}])
    assert kinds(result) == expected
    assert result["sources"][0]["kind"] == "journal"


def mixed_log(connections, seed):
    """(time, pid, message) of an internet-facing host's sshd lines, in time order with connections interleaved:
    root brute force with rsyslog's repeats, unknown users with and without a password, "none" probes, users that
    gave up, internal key logins; a few sources try many users (more entries than a source lists)."""
    rng = random.Random(seed)
    sources = ["198.51.100.%d" % index for index in range(1, 25)]
    users = ["u%03d" % index for index in range(60)] + ["admin", "test"]
    rows = []
    for index in range(connections):
        when = START + index * 2 + rng.randint(0, 5)
        pid = 5000 + index
        addr = rng.choice(sources[:4] if rng.random() < 0.5 else sources)
        port = 1024 + index
        user = rng.choice(users)
        kind = rng.random()
        if kind < 0.3:
            failed = f"Failed password for root from {addr} port {port} ssh2"
            out = [failed]
            if rng.random() < 0.6:
                out.append("message repeated %d times: [ %s]" % (rng.randint(1, 3), failed))
            out.append(f"Connection closed by authenticating user root {addr} port {port} [preauth]")
        elif kind < 0.6:
            out = [
                f"Invalid user {user} from {addr} port {port}",
                "pam_unix(sshd:auth): check pass; user unknown",
                f"pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={addr}",
                f"Failed password for invalid user {user} from {addr} port {port} ssh2",
                f"Disconnected from invalid user {user} {addr} port {port} [preauth]",
            ]
        elif kind < 0.75:
            out = [
                f"Invalid user {user} from {addr} port {port}",
                f"Connection closed by invalid user {user} {addr} port {port} [preauth]",
            ]
        elif kind < 0.82:
            out = [
                f"Invalid user {user} from {addr} port {port}",
                f"Failed none for invalid user {user} from {addr} port {port} ssh2",
                f"Connection closed by invalid user {user} {addr} port {port} [preauth]",
            ]
        elif kind < 0.9:
            out = [f"Connection closed by authenticating user ubuntu {addr} port {port} [preauth]"]
        else:
            src = "10.0.0.%d" % rng.randint(2, 5)
            out = [f"Accepted publickey for deploy from {src} port {port} ssh2: ED25519 SHA256:abc{index % 3}"]
        rows.extend((when + offset // 2, pid, message) for offset, message in enumerate(out))
    rows.sort(key=lambda row: row[0])
    return rows


def test_journal_files_and_workers_give_identical_results(tmp_path, monkeypatch):
    """The same lines read as one file, as a file in small blocks by three workers, and from the journal give the
    same failures and logins, to the first and last times (this caught times taken in the wrong order)."""
    rows = mixed_log(3000, seed=5)
    write(tmp_path / "var/log/auth.log", [line(when, pid, message) for when, pid, message in rows], mtime=MTIME)
    whole = run(tmp_path)
    monkeypatch.setattr(S, "PARALLEL_MIN_SIZE", 0)
    parts = run(tmp_path, workers=3, chunk_size=16384)
    monkeypatch.setattr(log_sources, "JournalSource", FakeJournal)
    FakeJournal.entries = rows
    journal = S.gather(root=str(tmp_path), since="all", sources=[{"journal": {}}])
    assert any(e["kind"] == "other" for e in whole["failures"])  # some source lists only its top entries
    assert whole["totals"]["by_kind"]["failed_password"] > 1000
    for other in (parts, journal):
        assert other["failures"] == whole["failures"]
        assert other["accepted"] == whole["accepted"]
        for field in ("attempts", "by_kind", "sources", "accepted", "auth_lines"):
            assert other["totals"][field] == whole["totals"][field]


def test_default_discovery_cuts_the_files_where_the_journal_starts(tmp_path, monkeypatch):
    """An event logged both to the journal and to auth.log is counted once."""
    monkeypatch.setattr(log_sources, "JournalSource", FakeJournal)
    monkeypatch.setattr(log_files, "journal_present", lambda view: True)
    file_lines = [line(START + i * 60, i, "Failed password for root from 192.0.2.1 port 1 ssh2") for i in range(10)]
    write(tmp_path / "var/log/auth.log", file_lines, mtime=MTIME)
    # the journal holds the last four of them (it started later)
    FakeJournal.entries = [
        (START + i * 60, i, "Failed password for root from 192.0.2.1 port 1 ssh2") for i in range(6, 10)
    ]
    result = S.gather(root=str(tmp_path), since="all", timezone="UTC")
    assert result["discovered"] is True
    assert [s["kind"] for s in result["sources"]] == ["journal", "file"]
    assert result["failures"][0]["count"] == 10
    assert result["failures"][0]["first_seen"] == "2025-10-01T00:00:00Z"
    assert result["failures"][0]["last_seen"] == "2025-10-01T00:09:00Z"
    assert result["sources"][1]["journal_cut"] == "2025-10-01T00:06:00Z"


def test_discovery_without_journal(tmp_path):
    write(tmp_path / "var/log/secure", [line(START, 1, "Invalid user x from 192.0.2.1")], mtime=MTIME)
    write(tmp_path / "var/log/messages", [line(START, 2, "Invalid user y from 192.0.2.1")], mtime=MTIME)
    result = S.gather(root=str(tmp_path), since="all", timezone="UTC")
    assert [s["name"] for s in result["sources"]] == ["/var/log/secure"]
    assert log_files.discover(RootView(str(tmp_path / "nothing")), S.DEFAULT_FILES, S.FALLBACK_FILES) == []


def test_local_users_and_errors(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text("root:x:0:0::/root:/bin/bash\n#c\ndeploy:x:1000:1000::/home/d:/bin/sh\n+\n")
    result = S.gather(root=str(tmp_path), since="all", sources=[{"path": "/var/log/none"}])
    assert result["local_users"] == ["deploy", "root"] and result["local_users_error"] is None
    assert result["sources"][0]["error"] == "not found: /var/log/none"
    result = S.gather(root=str(tmp_path / "etc"), since="all", sources=[{"path": "/x"}])
    assert result["local_users"] == [] and "passwd" in result["local_users_error"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"sources": [{"path": "relative"}]}, "must be absolute"),
        ({"since": "yesterday"}, "invalid time"),
        ({"internal_networks": ["10.0.0.0/40"]}, "not a CIDR"),
        ({"top_external": -1}, "top_external"),
        ({"max_user_length": 2}, "max_user_length"),
        ({"year": 1900}, "year"),
        ({"since": "2025-10-02", "until": "2025-10-01"}, "not after"),
    ],
)
def test_invalid_options(tmp_path, options, message):
    with pytest.raises(ValueError, match=message):
        S.gather(root=str(tmp_path), **options)


def test_verbose_lines_are_neither_attempts_nor_unparsed(auth):
    lines = [
        line(START, 1, "Accepted key ED25519 SHA256:0MxB+irEpynW7K7tD1 found at /root/.ssh/authorized_keys:1"),
        line(START, 1, "User child is on pid 28992"),
        line(START, 1, "Postponed publickey for root from 10.0.0.1 port 5 ssh2 [preauth]"),
        line(START, 1, "Disconnecting: Change of username or service not allowed: (a,ssh-connection) -> (b,x)"),
        line(START, 1, "message repeated 2 times: [ Received disconnect from 10.0.0.1 port 5:11: Bye [preauth]]"),
        line(START, 1, "error: PAM: pam_setcred(): Failure setting user credentials"),
        line(START, 1, "Failed to release session: Interrupted system call"),
    ]
    result = auth(lines)
    assert result["failures"] == [] and result["totals"]["unparsed"] == 0


def test_a_pid_reused_days_later_is_another_connection(auth):
    """A quiet log holds weeks in one block: the same pid a week later is another connection (old pid_max 32768)."""
    week = 7 * 86400
    pam = "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost="
    lines = [
        line(START, 19085, pam + "198.51.100.1"),
        line(START + 10, 19085, "Invalid user ghost from 198.51.100.3 port 9"),
        line(START + week, 19085, pam + "198.51.100.2  user=root"),
        line(START + week + 2, 19085, "Failed password for root from 198.51.100.2 port 1 ssh2"),
    ]
    assert kinds(auth(lines)) == {
        ("198.51.100.1", "", "pam_failure"): 1,
        ("198.51.100.3", "ghost", "invalid_user"): 1,
        ("198.51.100.2", "root", "failed_password"): 1,
    }
