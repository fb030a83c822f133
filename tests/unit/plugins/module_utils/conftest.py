"""Let the module_utils tests import their shared helpers (sshd_lines.py) in any pytest import mode."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
