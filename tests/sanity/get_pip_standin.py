"""Stand-in for the get-pip script that ansible-test downloads to bootstrap pip in its virtualenvs.

The download host is not reachable from every build machine; the interpreter's bundled ensurepip is.
Installed by `make sanity` at ~/.ansible/test/cache/get_pip_24_2.py.
"""

import ensurepip
import os
import runpy
import sys

ensurepip.bootstrap(upgrade=True)
# ensurepip isolates pip from the machine's configuration (index, certificates); the real install must not be.
os.environ.pop("PIP_CONFIG_FILE", None)
# ensurepip's pip rejects these get-pip options; they only skip extras we do not install anyway.
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.argv = ["pip", "install", "--upgrade", *args]
runpy.run_module("pip", run_name="__main__", alter_sys=True)
