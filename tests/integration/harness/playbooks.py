"""Running Ansible for real: the venv's ``ansible-playbook`` and ``ansible`` as subprocesses, and
``ansible_runner.run``, each in a private environment whose ssh control masters are closed afterwards."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import yaml

from harness.environment import COLLECTIONS_PATH, DEFAULT_RUN_TIMEOUT, DEFAULT_TIMEOUT, VENV_BIN, find_binary
from harness.processes import HarnessError, pids_with_argument, send_signal, wait_exited
from harness.results import (
    AdhocResult,
    PlaybookResult,
    RunnerResult,
    output_tails,
    parse_adhoc_statuses,
    parse_recap,
    recap_from_runner_stats,
)

_HARNESS_CFG = """\
# Written by tests/integration/harness/playbooks.py: the project's settings without the fleet_diff callback.
[defaults]
host_key_checking = False
interpreter_python = auto_silent
retry_files_enabled = False
nocows = True
stdout_callback = default
result_format = yaml
forks = 10
"""


def _resolve_config(ansible_config: str | os.PathLike | None, workdir: Path) -> Path:
    if ansible_config is not None:
        return Path(ansible_config).resolve()
    path = workdir / "ansible.cfg"
    path.write_text(_HARNESS_CFG, encoding="utf-8")
    return path


def _write_playbook(playbook: Any, workdir: Path) -> Path:
    if isinstance(playbook, (list, dict)):
        path = workdir / "playbook.yml"
        plays = playbook if isinstance(playbook, list) else [playbook]
        path.write_text(yaml.safe_dump(plays, default_flow_style=False, sort_keys=False), encoding="utf-8")
        return path
    return Path(playbook).resolve()


def ansible_env(
    ansible_config: Path,
    local_tmp: Path,
    control_path_dir: Path,
    env: Mapping[str, str | None] | None = None,
) -> dict:
    """Environment of an ansible run: the caller's minus every ANSIBLE_* variable, then the harness settings
    (config, collections path, private local temp and ssh control path dir, no colour), then ``env``
    (a value of None removes the variable)."""
    result = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    result.update(
        {
            "ANSIBLE_CONFIG": str(ansible_config),
            "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_PATH),
            "ANSIBLE_LOCAL_TEMP": str(local_tmp),
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control_path_dir),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "PATH": os.pathsep.join([str(VENV_BIN), result.get("PATH", os.defpath)]),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    for key, value in (env or {}).items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = str(value)
    return result


@contextlib.contextmanager
def _ansible_run(
    private_data_dir: str | os.PathLike | None,
    prefix: str,
    ansible_config: str | os.PathLike | None,
    env: Mapping[str, str | None] | None,
) -> Iterator[tuple]:
    """(working directory, environment) of one Ansible run (see ``ansible_env``). Its ssh control path dir is
    short (unix socket path limit) and its ControlPersist masters are closed afterwards, so no ssh process outlives
    the run."""
    created = private_data_dir is None
    workdir = Path(tempfile.mkdtemp(prefix=prefix)) if created else Path(private_data_dir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    local_tmp = workdir / "local_tmp"
    local_tmp.mkdir(exist_ok=True)
    control_dir = Path(tempfile.mkdtemp(prefix="fwcp-"))
    try:
        yield workdir, ansible_env(_resolve_config(ansible_config, workdir), local_tmp, control_dir, env)
    finally:
        close_control_masters(control_dir)
        shutil.rmtree(control_dir, ignore_errors=True)
        if created:
            shutil.rmtree(workdir, ignore_errors=True)


def close_control_masters(control_dir: Path) -> None:
    """Ask every ssh ControlMaster with a socket in ``control_dir`` to exit; kill any that did not."""
    ssh = find_binary("ssh")
    if ssh is not None and control_dir.is_dir():
        for entry in control_dir.iterdir():
            if entry.is_socket():
                subprocess.run(
                    [ssh, "-F", "/dev/null", "-o", f"ControlPath={entry}", "-O", "exit", "fleetwatch-harness"],
                    capture_output=True,
                    check=False,
                    timeout=DEFAULT_TIMEOUT,
                )
    leftovers = pids_with_argument(str(control_dir))  # only processes started with our own private control path
    for pid in leftovers:
        send_signal(pid, signal.SIGTERM)
    wait_exited(leftovers, "ssh control masters to exit")


def _run_ansible_command(argv: list, env: dict, cwd: Path, timeout: float) -> tuple:
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        raise HarnessError(
            f"{shlex.join(argv)} did not finish within {timeout:g}s\n{output_tails(stdout, stderr)}"
        ) from None
    return process.returncode, stdout, stderr


def _common_args(inventory: Any, extra_vars: Any, limit: Any, workdir: Path) -> list:
    args = ["-i", str(Path(inventory).resolve()) if isinstance(inventory, (str, Path)) else str(inventory)]
    if isinstance(extra_vars, Mapping):
        path = workdir / "extra_vars.json"
        path.write_text(json.dumps(dict(extra_vars)), encoding="utf-8")
        args += ["-e", f"@{path}"]
    elif extra_vars:
        args += ["-e", str(extra_vars)]
    if limit:
        args += ["--limit", _limit_pattern(limit)]
    return args


def _limit_pattern(limit: str | Sequence[str]) -> str:
    return limit if isinstance(limit, str) else ",".join(limit)


def run_playbook(
    playbook: str | os.PathLike | list | dict,
    inventory: str | os.PathLike,
    extra_vars: Mapping[str, Any] | str | None = None,
    limit: str | Sequence[str] | None = None,
    env: Mapping[str, str | None] | None = None,
    private_data_dir: str | os.PathLike | None = None,
    *,
    ansible_config: str | os.PathLike | None = None,
    args: Sequence[str] = (),
    timeout: float = DEFAULT_RUN_TIMEOUT,
) -> PlaybookResult:
    """Run the real ``.venv/bin/ansible-playbook`` as a subprocess and parse its PLAY RECAP.

    ``playbook``: a path, or plays as Python data (written to ``<private_data_dir>/playbook.yml``).
    ``extra_vars``: a dict (passed as ``-e @file.json``) or a string. ``limit``: pattern or list of names.
    ``env``: overrides of the run's environment (see ``ansible_env``). ``private_data_dir``: working directory of
    the run (cwd, local temp, written playbook / extra vars); default a temporary directory removed afterwards.
    ``ansible_config``: None = a minimal harness ansible.cfg without callbacks; ``PROJECT_ANSIBLE_CFG`` for the
    project's. ``args``: more command-line arguments (e.g. ``["-v"]``). Never raises on a failed play: check
    ``returncode`` / ``recap``; raises HarnessError only when the run exceeds ``timeout``.
    """
    with _ansible_run(private_data_dir, "fw-play-", ansible_config, env) as (workdir, run_env):
        path = _write_playbook(playbook, workdir)
        argv = [str(VENV_BIN / "ansible-playbook"), *_common_args(inventory, extra_vars, limit, workdir), *args]
        argv.append(str(path))
        returncode, stdout, stderr = _run_ansible_command(argv, run_env, workdir, timeout)
    return PlaybookResult(argv, returncode, stdout, stderr, parse_recap(stdout))


def run_adhoc(
    pattern: str,
    inventory: str | os.PathLike,
    module: str = "ansible.builtin.ping",
    module_args: str | None = None,
    extra_vars: Mapping[str, Any] | str | None = None,
    env: Mapping[str, str | None] | None = None,
    private_data_dir: str | os.PathLike | None = None,
    *,
    ansible_config: str | os.PathLike | None = None,
    args: Sequence[str] = (),
    timeout: float = DEFAULT_RUN_TIMEOUT,
) -> AdhocResult:
    """Run the real ``.venv/bin/ansible PATTERN -m MODULE`` and parse each host's status line."""
    with _ansible_run(private_data_dir, "fw-adhoc-", ansible_config, env) as (workdir, run_env):
        argv = [str(VENV_BIN / "ansible"), pattern, *_common_args(inventory, extra_vars, None, workdir)]
        argv += ["-m", module, *(["-a", module_args] if module_args else []), *args]
        returncode, stdout, stderr = _run_ansible_command(argv, run_env, workdir, timeout)
    return AdhocResult(argv, returncode, stdout, stderr, parse_adhoc_statuses(stdout))


@contextlib.contextmanager
def _without_ansible_environment() -> Iterator[None]:
    """ansible-runner seeds its child's environment from os.environ: hide the caller's ANSIBLE_* for the run."""
    saved = {key: os.environ.pop(key) for key in list(os.environ) if key.startswith("ANSIBLE_")}
    try:
        yield
    finally:
        os.environ.update(saved)


def run_with_ansible_runner(
    playbook: str | os.PathLike | list | dict,
    inventory: str | os.PathLike,
    extra_vars: Mapping[str, Any] | None = None,
    limit: str | Sequence[str] | None = None,
    env: Mapping[str, str | None] | None = None,
    private_data_dir: str | os.PathLike | None = None,
    *,
    ansible_config: str | os.PathLike | None = None,
    timeout: float = DEFAULT_RUN_TIMEOUT,
    quiet: bool = True,
) -> RunnerResult:
    """Run the playbook through ``ansible_runner.run`` (in this Python, the venv's) with the venv's
    ansible-playbook (found first on the run's PATH). Same parameters as ``run_playbook``; ``private_data_dir``
    keeps runner's artifacts (default: a temporary directory, removed after events and stdout were read)."""
    import ansible_runner  # only the tests that use ansible-runner need it

    with _ansible_run(private_data_dir, "fw-runner-", ansible_config, env) as (workdir, run_env):
        path = _write_playbook(playbook, workdir)
        envvars = {
            key: value for key, value in run_env.items() if key.startswith(("ANSIBLE_", "FLEETWATCH_")) or key == "PATH"
        }
        with _without_ansible_environment():
            runner = ansible_runner.run(
                private_data_dir=str(workdir),
                playbook=str(path),
                inventory=str(Path(inventory).resolve()),
                extravars=dict(extra_vars or {}),
                limit=_limit_pattern(limit) if limit else None,
                envvars=envvars,  # its PATH starts with the venv's bin: runner's pexpect finds its ansible-playbook
                quiet=quiet,
                timeout=int(timeout),
            )
        events = list(runner.events)
        stdout = ""
        if runner.stdout is not None:
            with runner.stdout as handle:
                stdout = handle.read()
        stats = runner.stats or {}
    return RunnerResult(runner.status, runner.rc, stats, recap_from_runner_stats(stats), events, stdout, workdir)
