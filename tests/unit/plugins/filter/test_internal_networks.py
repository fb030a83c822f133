"""The internal_networks filter: the role's networks for sshd_auth_info, computed in Python."""

from __future__ import annotations

import json
import textwrap

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.fleetwatch.audit.plugins.filter.internal_networks import FilterModule, internal_networks
from ansible_collections.fleetwatch.audit.plugins.module_utils._sshd_parse import DEFAULT_INTERNAL_NETWORKS

HOSTVARS = {
    "web1": {"ansible_host": "192.0.2.10"},
    "web2": {"ansible_host": "2001:db8::5"},
    "db1": {"ansible_host": "db1.example.com"},  # a name: the module matches networks only
    "app1": {},
    "lb1": {"ansible_host": "10.0.0.1"},
    "web1-alias": {"ansible_host": "192.0.2.10"},
}


def test_default_networks_then_each_host_address():
    got = internal_networks(None, list(HOSTVARS), HOSTVARS)
    assert got == [*DEFAULT_INTERNAL_NETWORKS, "192.0.2.10/32", "2001:db8::5/128", "10.0.0.1/32"]


def test_given_networks_replace_the_defaults_and_nothing_repeats():
    got = internal_networks(["10.0.0.1/32", "198.51.100.0/24"], ["lb1", "web1", "web1-alias"], HOSTVARS)
    assert got == ["10.0.0.1/32", "198.51.100.0/24", "192.0.2.10/32"]
    assert internal_networks([], ["app1"], HOSTVARS) == []


def test_malformed_input_and_unresolvable_hosts():
    with pytest.raises(AnsibleFilterError, match="expects a list of networks or null, not str"):
        internal_networks("10.0.0.0/8", [], {})
    hostvars = {"web9": {"ansible_host": "999.1.1.1"}, "web8": {"ansible_host": "fe80::1%eth0"}}
    assert internal_networks([], ["web9", "web8", "not-in-hostvars"], hostvars) == []


def test_registered_as_a_filter():
    assert FilterModule().filters() == {"internal_networks": internal_networks}


# The role's Jinja before the filter replaced it: the filter must give the module the same list.
_JINJA = r"""
{%- set nets = networks | default(['10.0.0.0/8', '172.16.0.0/12',
    '192.168.0.0/16', '100.64.0.0/10', '127.0.0.0/8', '::1/128', 'fc00::/7', 'fe80::/10']) | list -%}
{%- for name in groups['all'] -%}
  {%- set address = hostvars[name]['ansible_host'] | default('') | string -%}
  {%- if address is match('^[0-9]{1,3}(\\.[0-9]{1,3}){3}$') -%}
    {%- set _ = nets.append(address ~ '/32') -%}
  {%- elif address is match('^[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*$') -%}
    {%- set _ = nets.append(address ~ '/128') -%}
  {%- endif -%}
{%- endfor -%}
{{ nets | unique | list }}
"""


@pytest.mark.parametrize("networks", [None, ["198.51.100.0/24", "192.0.2.10/32"]])
def test_same_list_as_the_roles_former_jinja_in_a_real_play(tmp_path, ansible_playbook, networks):
    inventory = tmp_path / "inventory.yml"
    hosts = {
        "web1": {"ansible_host": "192.0.2.10"},
        "web2": {"ansible_host": "2001:db8::5"},
        "web3": {"ansible_host": "{{ '192.0.2.' ~ 11 }}"},  # templated, as hostvars gives it
        "db1": {"ansible_host": "db1.example.com"},
        "app1": {},
        "lb1": {"ansible_host": "10.0.0.1"},
    }
    inventory.write_text(json.dumps({"all": {"hosts": hosts}}))
    given = "" if networks is None else f"networks: {json.dumps(networks)}"
    out = tmp_path / "networks.json"
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        textwrap.dedent(
            f"""\
            - hosts: localhost
              connection: local
              gather_facts: false
              vars:
                {given}
                former: {json.dumps(_JINJA)}
                computed: >-
                  {{{{ networks | default(none) | fleetwatch.audit.internal_networks(groups['all'], hostvars) }}}}
              tasks:
                - ansible.builtin.copy:
                    content: "{{{{ {{'former': former, 'computed': computed}} | to_json }}}}"
                    dest: {out}
                    mode: "0600"
            """
        )
    )
    run = ansible_playbook(playbook, inventory)
    assert run.returncode == 0, run.stdout + run.stderr
    msg = json.loads(out.read_text())
    expected_start = networks or list(DEFAULT_INTERNAL_NETWORKS)
    assert msg["computed"] == msg["former"]
    assert msg["computed"] == list(
        dict.fromkeys([*expected_start, "192.0.2.10/32", "2001:db8::5/128", "192.0.2.11/32", "10.0.0.1/32"])
    )
