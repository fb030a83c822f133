"""Make the collection importable as ``ansible_collections.fleetwatch.audit`` for every test, and leave no
setuid/setgid file behind.

`make venv` links the repository at .venv/collections/ansible_collections/fleetwatch/audit.
"""

import os
import stat
import sys

_COLLECTIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".venv", "collections")
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)
os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", _COLLECTIONS)

_SETID = stat.S_ISUID | stat.S_ISGID


def pytest_sessionfinish(session):
    """Clear the setuid and setgid bits of the files the tests made under pytest's temporary directory: pytest keeps
    the last runs' directories, and an audit of this machine would report every setuid-root fixture as critical."""
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None:
        return
    try:
        base = factory.getbasetemp()
    except (OSError, ValueError):
        return
    clear_setid_bits(str(base))


def clear_setid_bits(top):
    """Drop the setuid/setgid bits of every regular file below ``top`` (links are not followed); returns how many."""
    cleared = 0
    for dirpath, _dirnames, filenames in os.walk(top):
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
                if stat.S_ISREG(st.st_mode) and st.st_mode & _SETID:
                    os.chmod(path, stat.S_IMODE(st.st_mode) & ~_SETID)
                    cleared += 1
            except OSError:  # gone, or a test made it unreadable on purpose
                continue
    return cleared
