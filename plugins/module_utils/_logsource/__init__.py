# Copyright: (c) 2026, fleetwatch developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Log sources shared by the log gatherers (private to the collection; target side, Python 3.8+, read-only).

One job per file: ``files`` (rotations, default sources), ``blocks`` (opening, decompressing and reading blocks of
whole lines, byte ranges for worker processes), ``years`` (the year of year-less timestamps), ``window`` (the time
window), ``results`` (what a source reports), ``sources`` (file sources and the reading loop every gatherer shares),
``journal`` and ``export`` (the systemd journal), ``hourscan`` (counting lines per hour), ``edges`` (a file's first and
last timestamped line), ``options`` (the shared module options). docs/architecture.md shows how a gatherer plugs in.
"""
