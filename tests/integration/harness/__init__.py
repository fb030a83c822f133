"""The integration harness: real sshd hosts on loopback, a real rsyslogd, real ansible-playbook and ansible-runner.

One job per module: ``environment`` (paths, timeouts, required binaries, skip or fail), ``processes`` (waiting,
spawning and stopping servers), ``syslog`` (real rsyslogd daemons, one of them on /dev/log), ``journal`` (real
journal files), ``sshd`` (one sshd host), ``fleet`` (the hosts together and their inventory), ``results`` (what an
Ansible run printed) and ``playbooks`` (running Ansible). The pytest fixtures are in tests/integration/conftest.py.
"""
