"""Helpers of the sshd tests: syslog lines as sshd writes them (our own fixtures, no real logs copied)."""

from __future__ import annotations

import time

START = 1759276800  # 2025-10-01T00:00:00Z


def trad(when: float) -> str:
    """Traditional syslog timestamp (UTC): ``Oct  1 00:00:01``."""
    return time.strftime("%b %e %H:%M:%S", time.gmtime(when))


def rfc(when: float) -> str:
    """RFC 3339 timestamp with microseconds at +02:00 (rsyslog's high-precision format)."""
    local = time.gmtime(when + 7200)
    return time.strftime("%Y-%m-%dT%H:%M:%S", local) + ".%06d+02:00" % round((when % 1) * 1e6)


def line(when: float, pid: int, message: str, program: str = "sshd", host: str = "web1", stamp=trad) -> str:
    return f"{stamp(when)} {host} {program}[{pid}]: {message}"


def attempt_invalid_password(when, pid, user, addr, port, program="sshd", stamp=trad, pam=True) -> list[str]:
    """One failed password of an unknown user, as OpenSSH 8.x/9.x logs it with PAM: four lines, one attempt."""
    out = [line(when, pid, f"Invalid user {user} from {addr} port {port}", program, stamp=stamp)]
    if pam:
        out += [
            line(when, pid, "pam_unix(sshd:auth): check pass; user unknown", program, stamp=stamp),
            line(
                when + 1,
                pid,
                f"pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={addr}",
                program,
                stamp=stamp,
            ),
        ]
    out += [
        line(
            when + 2, pid, f"Failed password for invalid user {user} from {addr} port {port} ssh2", program, stamp=stamp
        ),
        line(
            when + 2,
            pid,
            f"Connection closed by invalid user {user} {addr} port {port} [preauth]",
            program,
            stamp=stamp,
        ),
    ]
    return out


def write(path, lines, mtime=None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(text + "\n" for text in lines), encoding="utf-8", errors="surrogateescape")
    if mtime is not None:
        import os

        os.utime(path, (mtime, mtime))


def summarize(clock, records):
    """The closed ``Summary`` of ``records``, ``(time token, pid, message)`` each, added as rows the way the
    journal's are (``MESSAGE_RE``'s groups after the time and pid)."""
    from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_parse import MESSAGE_RE
    from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_summary import Summary

    rows = []
    for token, pid, message in records:
        match = MESSAGE_RE.match(message.encode() + b"\n")
        assert match is not None, message
        rows.append((token, str(pid).encode(), *match.groups(b"")))
    summary = Summary(clock)
    summary.add_rows(rows)
    return summary.close()


def failed(user, addr, method="password"):
    return f"Failed {method} for {user} from {addr} port 40000 ssh2"


def pam_failure(addr, user="root"):
    return (
        f"pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={addr}  user={user}"
    )


def accepted(user, addr, method="password"):
    return f"Accepted {method} for {user} from {addr} port 5000 ssh2"


def journal_summary(records):
    """The closed journal ``Summary`` of ``records``, ``(seconds after START, pid, message)`` each."""
    from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_clock import JOURNAL_CLOCK

    return summarize(JOURNAL_CLOCK, [(START + float(seconds), pid, message) for seconds, pid, message in records])
