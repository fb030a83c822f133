"""Make the collection importable as ``ansible_collections.fleetwatch.audit`` for every test.

`make venv` links the repository at .venv/collections/ansible_collections/fleetwatch/audit.
"""

import os
import sys

_COLLECTIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".venv", "collections")
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)
os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", _COLLECTIONS)
