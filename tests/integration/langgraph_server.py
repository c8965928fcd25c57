"""Start and stop `langgraph dev` for tests and benchmarks.

    with serve_langgraph_dev(REPO, env={"HARNESS_HOME": str(tmp)}) as url:
        client = langgraph_sdk.get_client(url=url)

The server runs as a child process on a free loopback port (`--no-browser --no-reload`), with
analytics, LangSmith tracing and the version check (all network calls) switched off. It is
stopped by its pid; its output goes to a log file whose tail is printed when startup fails or
the body of the `with` raises, so a failing test shows what the server said.

By default (`isolated=True`) it runs in a scratch directory that mirrors the project with
symlinks, minus `.langgraph_api/` and `.env`: the threads it creates do not pile up in the
developer's `.langgraph_api/` (which the server loads at every start and Studio lists), and a
developer's `.env` (whose values override the environment) cannot leak in. The shipped
langgraph.json is used as it is, as on a fresh clone.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

QUIET_ENV = {
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGGRAPH_NO_VERSION_CHECK": "true",
}
LOG_TAIL_CHARS = 6000
# Left out of the isolated working dir: server state, local settings, local run data.
NOT_MIRRORED = frozenset({".langgraph_api", ".env", ".harness", ".git"})


class ServerStartError(RuntimeError):
    """`langgraph dev` exited or did not answer in time; the message carries its log tail."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def langgraph_command() -> list[str]:
    """The `langgraph` CLI of the interpreter running the tests (the project's venv)."""
    script = Path(sys.executable).parent / "langgraph"
    if script.exists():
        return [str(script)]
    found = shutil.which("langgraph")
    return [found] if found else [sys.executable, "-m", "langgraph_cli"]


def server_available() -> str | None:
    """None when `langgraph dev` can run here, else the reason it cannot."""
    try:
        import langgraph_api  # noqa: F401
        import langgraph_sdk  # noqa: F401
    except ImportError as exc:
        return (
            f"langgraph-cli[inmem] / langgraph-sdk not installed ({exc.name}); "
            "pip install -e '.[server]'"
        )
    return None


def mirror_project(project: Path, scratch: Path) -> Path:
    """A working dir whose entries are symlinks to the project's, except NOT_MIRRORED."""
    scratch.mkdir(parents=True, exist_ok=True)
    for entry in project.iterdir():
        if entry.name not in NOT_MIRRORED:
            (scratch / entry.name).symlink_to(entry.resolve(), entry.is_dir())
    return scratch


def log_tail(path: Path, chars: int = LOG_TAIL_CHARS) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return text if len(text) <= chars else "...\n" + text[-chars:]


def announced_url(log: Path, host: str) -> str | None:
    """The API URL the server printed. `langgraph dev` moves to another port, with only a
    warning, when the requested one was taken in the meantime: trust what it says it serves."""
    match = re.search(r"API: \S*?(http://" + re.escape(host) + r":\d+)", log_tail(log, 10**6))
    return match.group(1) if match else None


def wait_until_ready(host: str, proc: subprocess.Popen, log: Path, timeout: float) -> str:
    """Wait for the server's announced URL to answer GET /ok with 200; return that URL."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerStartError(
                f"langgraph dev exited with code {proc.returncode} before answering\n"
                + log_tail(log)
            )
        url = announced_url(log, host)
        if url:
            try:
                with urllib.request.urlopen(f"{url}/ok", timeout=2) as response:
                    if response.status == 200:
                        return url
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
        time.sleep(0.25)
    raise ServerStartError(
        f"langgraph dev did not answer within {timeout:.0f}s\n" + log_tail(log)
    )


def stop_process(proc: subprocess.Popen, grace: float = 15.0) -> None:
    """SIGTERM the server's process group (its pid: it leads its own session), then SIGKILL."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=grace)


@contextmanager
def serve_langgraph_dev(
    cwd: str | Path,
    env: Mapping[str, str | None] | None = None,
    timeout: float = 90.0,
    *,
    config: str | Path | None = None,
    extra_args: Sequence[str] = (),
    log_dir: str | Path | None = None,
    isolated: bool = True,
) -> Iterator[str]:
    """Run `langgraph dev` for the project in `cwd` (where langgraph.json is); yield its base URL.

    `env` is added to this process's environment (e.g. HARNESS_HOME); a name mapped to None is
    removed from it. `config` picks another langgraph.json; `extra_args` go to `langgraph dev`
    (e.g. ["--n-jobs-per-worker", "10"]). `isolated=False` runs in `cwd` itself.
    """
    host = "127.0.0.1"
    port = free_port(host)
    scratch = Path(tempfile.mkdtemp(prefix="langgraph-dev-"))
    log = Path(log_dir or scratch) / f"langgraph-dev-{port}.log"
    workdir = mirror_project(Path(cwd), scratch / "project") if isolated else Path(cwd)
    args = [*langgraph_command(), "dev", "--no-browser", "--no-reload"]
    args += ["--host", host, "--port", str(port)]
    if config is not None:
        args += ["--config", str(config)]
    args += list(extra_args)
    full_env = {**os.environ, **QUIET_ENV}
    for name, value in (env or {}).items():
        if value is None:
            full_env.pop(name, None)
        else:
            full_env[name] = value

    with open(log, "wb") as log_file:
        proc = subprocess.Popen(
            args,
            cwd=str(workdir),
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = wait_until_ready(host, proc, log, timeout)
        try:
            yield url
        except BaseException:
            sys.stderr.write(f"--- langgraph dev log ({log}) ---\n{log_tail(log)}\n")
            raise
    finally:
        stop_process(proc)
        shutil.rmtree(scratch, ignore_errors=True)
