"""What every module's unit tests share: run ``main()`` with arguments, and check its documentation against it."""

from __future__ import annotations

import json

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args

from ansible_collections.fleetwatch.audit.plugins.doc_fragments import log_sources, root


def run_module(capsys, module, args):
    """``(exit code, result)`` of ``module.main()`` run with ``args`` as Ansible would pass them."""
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        module.main()
    return exited.value.code, json.loads(capsys.readouterr().out)


def module_kwargs(monkeypatch, module):
    """The keyword arguments ``module.main()`` gives ``AnsibleModule`` (argument_spec, supports_check_mode, ...)."""
    captured = {}

    class Captured(Exception):
        pass

    def fake_module(**kwargs):
        captured.update(kwargs)
        raise Captured()

    monkeypatch.setattr(module, "AnsibleModule", fake_module)
    with pytest.raises(Captured):
        module.main()
    return captured


FRAGMENTS = {"fleetwatch.audit.root": root, "fleetwatch.audit.log_sources": log_sources}


def documented_options(module):
    """The module's documented options, with those of the collection's doc fragments it extends."""
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert doc["extends_documentation_fragment"][0] == "fleetwatch.audit.root"
    assert doc["author"] == "fleetwatch developers (@fleetwatch)"
    options = dict(doc["options"])
    for name in doc["extends_documentation_fragment"]:
        if name in FRAGMENTS:
            shared = yaml.safe_load(FRAGMENTS[name].ModuleDocFragment.DOCUMENTATION)["options"]
            assert not set(shared) & set(options), f"{name} options documented again in the module"
            options.update(shared)
    return options


def assert_options_match(options, spec, where="options"):
    """Documented options and the argument spec agree on names, types, defaults and elements, suboptions too."""
    assert sorted(options) == sorted(spec), where
    for name, option in options.items():
        assert option["description"], (where, name)
        assert option["type"] == spec[name]["type"], (where, name)
        assert option.get("default") == spec[name].get("default"), (where, name)
        assert option.get("elements") == spec[name].get("elements"), (where, name)
        if "suboptions" in option or "options" in spec[name]:
            assert_options_match(option["suboptions"], spec[name]["options"], f"{where}.{name}")
