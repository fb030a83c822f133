"""Let the check tests import the shared test data of plugin_utils (plugin_utils_data.py) in any pytest import mode."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
