"""Drive the collection's action plugins as Ansible's task executor does: their ActionModule with a real Task,
PlayContext, loader, templar and (local) connection; and read the options their doc stubs document.

The class is taken from its module rather than through Ansible's plugin loader: tests/conftest.py imports the
collection as a plain package, which the loader's collection finder does not accept afterwards."""

from __future__ import annotations

import importlib
import os
import sys

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.plugins.loader import connection_loader
from ansible.template import Templar

# The plugin_utils test data (plugin_utils_data.py): realistic gathered results.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "plugin_utils"))

_SPEC_KEYS = ("type", "required", "choices", "default", "elements")


@pytest.fixture(scope="session")
def run_action():
    """``run(name, args, task_vars=None, check_mode=False)``: ``fleetwatch.audit.<name>``'s result, or its
    exception (AnsibleActionFail) raised as Ansible's task executor would see it."""
    loader = DataLoader()

    def run(name, args, task_vars=None, check_mode=False):
        task = Task()
        task.action, task.args, task.check_mode = f"fleetwatch.audit.{name}", dict(args), check_mode
        play_context = PlayContext()
        plugin = importlib.import_module(f"ansible_collections.fleetwatch.audit.plugins.action.{name}")
        action = plugin.ActionModule(
            task=task,
            connection=connection_loader.get("local", play_context),
            play_context=play_context,
            loader=loader,
            templar=Templar(loader=loader),
            shared_loader_obj=None,
        )
        action._load_name = task.action  # what Ansible's plugin loader sets, named in argument errors
        return action.run(task_vars={"inventory_hostname": "web1", **(task_vars or {})})

    return run


def documented_spec(module: str) -> dict:
    """The options of ``plugins/modules/<module>.py``'s DOCUMENTATION written as an argument spec (type, required,
    choices, default, elements; ``required`` only when true)."""
    doc = importlib.import_module(f"ansible_collections.fleetwatch.audit.plugins.modules.{module}").DOCUMENTATION
    spec = {}
    for name, option in yaml.safe_load(doc)["options"].items():
        entry = {key: option[key] for key in _SPEC_KEYS if key in option}
        if entry.get("required") is False:
            del entry["required"]
        spec[name] = entry
    return spec


@pytest.fixture(scope="session")
def doc_spec():
    return documented_spec
