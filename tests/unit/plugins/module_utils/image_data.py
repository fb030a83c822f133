"""Files of the images (trees standing for an audited root) that the module_utils tests write."""

from __future__ import annotations

import os


def write(root, rel, data=b"", mode=0o644):
    """Write ``data`` at ``rel`` (absolute inside ``root``) with ``mode``; returns the host path."""
    path = os.path.join(str(root), rel.lstrip("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)
    return path
