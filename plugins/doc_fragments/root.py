# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # The root option shared by the collection's gatherer modules (fleetwatch.audit.root).
    DOCUMENTATION = r"""
options:
  root:
    description:
      - The directory to audit as if it were C(/) on the target host.
      - The default audits the running system. Point it at a mounted disk image, a snapshot or a container's file
        system to audit it offline, with the image's own files (for example its package database and its
        C(etc/passwd)) rather than the host's.
      - Every path the module reads is taken inside O(root); symbolic links met on the way are resolved inside it,
        so an absolute link in the image never leads out to the host's files.
      - Every path the module returns is relative to O(root), as the audited system sees it (C(/usr/bin/su) for
        C(<root>/usr/bin/su)).
    type: path
    default: /
"""
