"""The embedded model's server process, and how to read what it left behind.

``providers/local.py`` starts ``python -m copilot_repl.providers.llama_server
ARGS``: llama-cpp-python's OpenAI-compatible server (``python -m
llama_cpp.server ARGS``) with three additions, so that a crash of native code
can be diagnosed and a known one does not happen:

- the first line of its log is llama.cpp's system info: the CPU features the
  build was compiled with (``AVX2 = 1 | ... | AMX_INT8 = 1``);
- ``faulthandler`` writes the Python stack of every thread to the log on a
  fatal signal (SIGSEGV, SIGILL, SIGBUS, ...), so the log is never empty;
- where the build holds llama.cpp's AMX code, weights are not repacked into
  AMX buffers (``use_extra_bufts = False``): that path segfaults in
  ``llama_decode`` on any prompt of two or more tokens on CPUs with AMX
  (ggml-org/llama.cpp#20824). ``make run`` builds without AMX (a portable
  build, ``scripts/llama-wheel``); this covers a build from plain
  ``pip install``, which compiles with ``-march=native``.

The functions that read the log are pure and run in copilot-repl itself; this
module imports nothing of llama_cpp until ``main`` runs in the child.
"""

from __future__ import annotations

import faulthandler
import re
import runpy
import sys
from collections.abc import Sequence

SYSTEM_INFO = "llama.cpp system info: "
REPACK_OFF = "copilot-repl: this llama.cpp build has AMX code; weight repacking is off"
# Features whose code in llama.cpp crashes (ggml-org/llama.cpp#20824): with
# them compiled in, weights are loaded without repacking.
CRASHING_FEATURES = ("AMX_INT8", "AMX_BF16", "AMX_TILE")
# What a portable build may have; anything else (AVX-512, AMX, ...) means the
# build was made for the CPU it was compiled on (-march=native).
PORTABLE_X86 = frozenset(
    {"SSE3", "SSSE3", "AVX", "AVX2", "F16C", "FMA", "BMI2", "LLAMAFILE", "OPENMP", "REPACK"}
)
CRASH_SIGNALS = {4: "SIGILL", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE", 11: "SIGSEGV"}
_FEATURE = re.compile(r"([A-Z0-9_]+) = 1\b")
_FRAME = re.compile(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+) in (?P<func>\S+)')


def features(system_info: str) -> set[str]:
    """The names llama.cpp's system info marks ``= 1``."""
    return set(_FEATURE.findall(system_info))


def crashing_features(system_info: str) -> list[str]:
    """The features of this build whose code is known to crash."""
    have = features(system_info)
    return [name for name in CRASHING_FEATURES if name in have]


def non_portable_features(system_info: str) -> list[str]:
    """x86 features beyond the portable build's: a sign of ``-march=native``."""
    have = features(system_info)
    x86 = have & {"AVX", "AVX2", "SSE3"}
    return sorted(have - PORTABLE_X86) if x86 else []


def system_info_of(log: str) -> str:
    """The system info line ``main`` wrote at the top of the log ('' if none)."""
    for line in log.splitlines():
        if line.startswith(SYSTEM_INFO):
            return line[len(SYSTEM_INFO) :]
    return ""


def crash_lines(log: str) -> list[str]:
    """What faulthandler wrote of a fatal signal, in two lines at most: the
    error (``Fatal Python error: Segmentation fault``) and the innermost
    frame in llama_cpp (``in decode (llama_cpp/_internals.py:330)``)."""
    lines = log.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Fatal Python error:"):
            found = [line.strip()]
            for frame in lines[i + 1 :]:
                m = _FRAME.match(frame)
                if m and "llama_cpp" in m["path"]:
                    short = m["path"][m["path"].rfind("llama_cpp") :]
                    found.append(f"in {m['func']} ({short}:{m['line']})")
                    break
            return found
    return []


def crash_cause(log: str, signal_number: int | None) -> str:
    """Why the server died of a signal, as far as its log tells ('' if it
    did not die of one): names the build's crashing features, if any."""
    name = CRASH_SIGNALS.get(signal_number or 0)
    if name is None:
        return ""
    info = system_info_of(log)
    risky = crashing_features(info)
    if risky:
        return (
            f"its llama.cpp build has {', '.join(risky)} code, known to crash "
            "(ggml-org/llama.cpp#20824)"
        )
    if name == "SIGILL":
        return "its llama.cpp build uses instructions this CPU lacks"
    native = non_portable_features(info)
    if native:
        return f"its llama.cpp build was made for another CPU ({', '.join(native)})"
    return "llama.cpp crashed"


def rebuild_hint(version: str) -> str:
    """The commands that replace the build with the portable one."""
    pin = f"llama-cpp-python=={version}" if version else "llama-cpp-python"
    return (
        "rebuild it portable: `make local-rebuild`, or CMAKE_ARGS=-DGGML_NATIVE=OFF "
        f"pip install --force-reinstall --no-cache-dir --no-deps '{pin}'"
    )


def load_without_repacking() -> None:  # pragma: no cover - runs in the child
    """Models loaded from now on keep their weights as they are in the file
    (``use_extra_bufts = False``): no repacking into AMX (or other CPU)
    buffers. It patches a foreign module's attribute: ``Llama()`` reads it
    when it loads a model, and llama-cpp-python has no keyword for it."""
    import llama_cpp.llama_cpp as lib  # the llama.cpp server's own process only (the [local] extra)

    default_params = lib.llama_model_default_params

    def without_repacking() -> lib.llama_model_params:
        params: lib.llama_model_params = default_params()
        params.use_extra_bufts = False
        return params

    lib.llama_model_default_params = without_repacking


def main(argv: Sequence[str]) -> None:  # pragma: no cover - runs in the child

    faulthandler.enable(all_threads=True)  # sys.stderr is the log
    import llama_cpp.llama_cpp as lib  # the llama.cpp server's own process only (the [local] extra)

    info = lib.llama_print_system_info().decode("utf-8", "replace").strip()
    print(SYSTEM_INFO + " ".join(info.split()), file=sys.stderr, flush=True)
    if crashing_features(info):
        load_without_repacking()
        print(REPACK_OFF, file=sys.stderr, flush=True)
    sys.argv = ["llama_cpp.server", *argv]
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
