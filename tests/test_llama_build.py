"""The embedded model's llama.cpp build: portable, pinned, and diagnosable when
it crashes (providers/llama_server.py, scripts/llama-wheel).

A native build (pip's default, -march=native) holds llama.cpp's AMX code on
CPUs with AMX, which segfaults on any prompt of two or more tokens
(ggml-org/llama.cpp#20824). The first test fails on such a build on any
machine: on one without AMX, a native build still shows the CPU's own
features beyond the portable set (AVX-512 here).
"""

from __future__ import annotations

import importlib.util
import re
import tomllib

from conftest import ROOT

from copilot_repl.providers.llama_server import (
    crash_cause,
    crash_lines,
    crashing_features,
    features,
    non_portable_features,
    rebuild_hint,
    system_info_of,
)
from copilot_repl.providers.local import log_summary, tail_lines

# llama.cpp's system info as a native build prints it on an Intel Xeon with
# AMX (the CPU of the report), and as the portable build prints it.
AMX_NATIVE = (
    "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | "
    "AVX512 = 1 | AVX512_VNNI = 1 | AVX512_BF16 = 1 | AMX_INT8 = 1 | LLAMAFILE = 1 | "
    "OPENMP = 1 | REPACK = 1 |"
)
AVX512_NATIVE = (
    "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | "
    "AVX512 = 1 | AVX512_VBMI = 1 | AVX512_VNNI = 1 | AVX512_BF16 = 1 | LLAMAFILE = 1 | "
    "OPENMP = 1 | REPACK = 1 |"
)
PORTABLE = (
    "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | "
    "LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 |"
)
ARM = "CPU : NEON = 1 | ARM_FMA = 1 | FP16_VA = 1 | LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 |"

# What a crash leaves in the log: our first line, then faulthandler's dump.
SEGV_LOG = f"""llama.cpp system info: {AMX_NATIVE}
INFO:     Started server process [4242]
Fatal Python error: Segmentation fault

Thread 0x00007f0e5a7fc6c0 (most recent call first):
  File "/venv/lib/python3.11/site-packages/llama_cpp/_internals.py", line 330 in decode
  File "/venv/lib/python3.11/site-packages/llama_cpp/llama.py", line 684 in eval
  File "/venv/lib/python3.11/site-packages/anyio/_backends/_asyncio.py", line 967 in run

Current thread's C stack trace (most recent call first):
  Binary file "/venv/lib/python3.11/site-packages/llama_cpp/lib/libggml-cpu.so"
Extension modules: numpy.core._multiarray_umath (total: 2)
"""


def test_the_installed_llama_cpp_build_is_portable() -> None:
    """No code known to crash (AMX) and nothing of -march=native (AVX-512):
    what `make test` installs is scripts/llama-wheel's portable build."""
    if importlib.util.find_spec("llama_cpp") is None:
        import pytest

        pytest.skip("llama-cpp-python is not installed (make test installs it)")
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode()
    assert features(info), info  # the probe reads something
    assert crashing_features(info) == [], info
    assert non_portable_features(info) == [], f"a native build: {info}"


def test_the_check_fails_on_the_builds_that_crash_or_are_native() -> None:
    assert crashing_features(AMX_NATIVE) == ["AMX_INT8"]
    assert non_portable_features(AMX_NATIVE) == [
        "AMX_INT8",
        "AVX512",
        "AVX512_BF16",
        "AVX512_VNNI",
    ]
    assert crashing_features(AVX512_NATIVE) == []
    assert non_portable_features(AVX512_NATIVE) == [
        "AVX512",
        "AVX512_BF16",
        "AVX512_VBMI",
        "AVX512_VNNI",
    ]
    for fine in (PORTABLE, ARM):
        assert crashing_features(fine) == [] and non_portable_features(fine) == []


def test_the_llama_version_is_pinned_to_the_one_the_makefile_builds() -> None:
    makefile = (ROOT / "Makefile").read_text()
    built = re.search(r"^LLAMA_VERSION := (\S+)$", makefile, re.M)
    assert built is not None
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["local"]
    pin = next(r for r in extra if r.startswith("llama-cpp-python"))
    major, minor, patch = built[1].split(".")
    assert pin == f"llama-cpp-python[server]>={built[1]},<{major}.{minor}.{int(patch) + 1}"


def test_a_segfault_is_told_with_its_frame_its_cause_and_the_rebuild() -> None:
    assert system_info_of(SEGV_LOG) == AMX_NATIVE
    assert crash_lines(SEGV_LOG) == [
        "Fatal Python error: Segmentation fault",
        "in decode (llama_cpp/_internals.py:330)",
    ]
    assert log_summary(SEGV_LOG) == (
        "log: Fatal Python error: Segmentation fault | in decode (llama_cpp/_internals.py:330)"
    )
    cause = crash_cause(SEGV_LOG, 11)
    assert "AMX_INT8" in cause and "llama.cpp#20824" in cause
    hint = rebuild_hint("0.3.36")
    assert "make local-rebuild" in hint and "'llama-cpp-python==0.3.36'" in hint
    assert "GGML_NATIVE=OFF" in hint and "--no-cache-dir" in hint


def test_the_cause_of_other_deaths() -> None:
    portable = f"llama.cpp system info: {PORTABLE}\n"
    native = f"llama.cpp system info: {AVX512_NATIVE}\n"
    assert crash_cause(portable, None) == ""  # exited, not killed
    assert crash_cause(portable, 9) == ""  # SIGKILL: someone killed it
    assert crash_cause(portable, 11) == "llama.cpp crashed"
    assert crash_cause(portable, 4) == "its llama.cpp build uses instructions this CPU lacks"
    assert "made for another CPU (AVX512" in crash_cause(native, 11)
    assert crash_cause("", 11) == "llama.cpp crashed"  # no system info line


def test_the_log_tail_leaves_out_our_own_lines() -> None:
    log = f"llama.cpp system info: {PORTABLE}\nValueError: Failed to load model from file: x\n"
    assert tail_lines(log) == ["ValueError: Failed to load model from file: x"]
    assert log_summary("") == "its log is empty"
