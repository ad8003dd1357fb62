"""Generate copilot_repl's session event types from the installed Copilot SDK.

The SDK's ``copilot.generated.session_events`` is itself generated from the
CLI's ``session-events.schema.json``; this script reads that module's
members (enums, data classes and their fields, type aliases) and writes our
own definitions of the same names and fields, without the SDK's code:

- ``copilot_repl/api/generated_events.py``: ``SessionEventType`` and the data
  classes copilot_repl emits, with every type they refer to (imported on the
  way to the first prompt, so kept small);
- ``copilot_repl/api/generated_events_all.py``: everything else, imported
  only by the SDK's module paths (``copilot_repl.session_events``,
  ``copilot_repl.generated.session_events``).

A new SDK release is a regenerate-and-review::

    PYTHONPATH=$PWD .venv/bin/python tools/gen_session_events.py
    git diff copilot_repl/api/generated_events*.py

``tests/test_event_surface.py`` fails when the installed SDK and the
generated files disagree.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import subprocess
import sys
import types
from importlib import metadata
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
CORE_OUT = ROOT / "copilot_repl" / "api" / "generated_events.py"
ALL_OUT = ROOT / "copilot_repl" / "api" / "generated_events_all.py"

# The data classes copilot_repl emits (their closure goes to the core module).
EMITTED = [
    "SessionStartData",
    "SessionResumeData",
    "SessionIdleData",
    "SessionErrorData",
    "SessionInfoData",
    "SessionWarningData",
    "SessionModelChangeData",
    "SessionTitleChangedData",
    "UserMessageData",
    "PendingMessagesModifiedData",
    "AssistantTurnStartData",
    "AssistantTurnEndData",
    "AssistantMessageData",
    "AssistantMessageDeltaData",
    "AssistantReasoningData",
    "AssistantReasoningDeltaData",
    "SessionAutopilotStoppedData",
    "AssistantUsageData",
    "AbortData",
    "SessionShutdownData",
    # tools (api/toolrun.py)
    "ToolExecutionStartData",
    "ToolExecutionCompleteData",
    "PermissionRequestedData",
    "PermissionCompletedData",
    "ExternalToolRequestedData",
    "ExternalToolCompletedData",
]

# copilot-repl's own additions, appended after the SDK's fields (all with defaults).
EXTRA_FIELDS: dict[str, list[tuple[str, str, str, str]]] = {
    "AssistantMessageData": [
        ("status", "str", '"done"', 'copilot-repl: "done", "interrupted" or "error"'),
    ],
    "AssistantUsageData": [
        ("estimated", "bool", "False", "copilot-repl: output_tokens counted here"),
    ],
    "ToolExecutionCompleteData": [
        ("duration", "float | None", "None", "copilot-repl: seconds the call took"),
    ],
}
EXTRA_MEMBERS = [
    ("STATUS", "copilot_repl.status", "copilot-repl: a passing status line"),
    ("QUEUED", "copilot_repl.queued", "copilot-repl: waiting for a provider slot"),
]
# Left out, with why (the surface test lists them as known differences).
SKIPPED = {
    "SessionEvent": "defined by hand in api/events.py (adds session_id, to_dict)",
    "session_event_from_dict": "defined by hand in api/events.py",
    "session_event_to_dict": "defined by hand in api/events.py",
    "Data": "defined by hand in api/events.py (a plain class: keyword arguments as attributes)",
}
BUILTIN_NAMES = {"str", "int", "bool", "float", "list", "dict", "None", "Any"}
BUILTIN_NAMES |= {"datetime", "timedelta", "UUID", "ClassVar"}


def words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z_]\w*", text)


def referenced(sdk: Any, name: str) -> list[str]:
    """The module-level names one member of the SDK module refers to."""
    obj = getattr(sdk, name)
    if isinstance(obj, types.UnionType):
        return [a.__name__ for a in obj.__args__]
    if isinstance(obj, type) and dataclasses.is_dataclass(obj):
        out = []
        for annotation in obj.__annotations__.values():
            out += [w for w in words(str(annotation)) if w not in BUILTIN_NAMES]
        return out
    return []


def closure(sdk: Any, roots: list[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += referenced(sdk, name)
    return seen


def enum_source(cls: type[enum.Enum], extra: bool) -> list[str]:
    base = "StrEnum" if cls.__name__ == "SessionEventType" else "Enum"
    lines = [f"class {cls.__name__}({base}):"]
    if cls.__doc__ and cls.__doc__ != "An enumeration.":
        lines.append(f"    {quote_doc(cls.__doc__)}")
        lines.append("")
    for member in cls:
        lines.append(f"    {member.name} = {member.value!r}")
    if extra:
        lines.append("    # copilot-repl's own (not in the SDK)")
        for name, value, why in EXTRA_MEMBERS:
            lines.append(f"    {name} = {value!r}  # {why}")
    if "_missing_" in cls.__dict__:  # what an unknown value becomes
        fallback = cls._missing_("\0 not a member")
        if fallback is None:
            returned = "None"
        elif fallback not in cls.__members__.values():  # open: unknown strings are kept
            returned = f"_open_member(cls, value, {fallback.name!r})"
        else:
            returned = f"cls.{fallback.name}"
        lines += [
            "",
            "    @classmethod",
            f"    def _missing_(cls, value: object) -> {cls.__name__} | None:",
            f"        return {returned}",
        ]
    return lines


def quote_doc(doc: str) -> str:
    doc = " ".join(doc.split()).replace("\\", "\\\\").replace('"""', "'''")
    return f'"""{doc}"""'


def default_source(value: Any) -> str:
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    return repr(value)


def dataclass_source(cls: type) -> list[str]:
    """The class with its fields, and its ``__init__``, ``__repr__`` and
    ``__eq__`` written out: ``@dataclass`` (for ``fields()``, ``asdict()``,
    ``__match_args__``) then only records the fields, and importing the module
    compiles no code at run time (ten times faster than generating them)."""
    lines = ["@dataclass(init=False, repr=False, eq=False)", f"class {cls.__name__}:"]
    if cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "("):
        lines.append(f"    {quote_doc(cls.__doc__)}")
    body = []
    params: list[str] = []  # the __init__ parameters, required ones first (as declared)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for name, annotation in cls.__annotations__.items():
        if name in fields:
            f = fields[name]
            if f.default is not dataclasses.MISSING:
                default = default_source(f.default)
                body.append(f"    {name}: {annotation} = {default}")
                params.append(f"{name}: {annotation} = {default}")
            elif f.default_factory is not dataclasses.MISSING:
                raise SystemExit(f"{cls.__name__}.{name}: a default_factory (not supported yet)")
            else:
                body.append(f"    {name}: {annotation}")
                params.append(f"{name}: {annotation}")
        else:  # a ClassVar discriminator
            body.append(f"    {name}: {annotation} = {default_source(getattr(cls, name))}")
    for name, annotation, default, why in EXTRA_FIELDS.get(cls.__name__, []):
        body.append(f"    {name}: {annotation} = {default}  # {why}")
        params.append(f"{name}: {annotation} = {default}")
    names = [p.partition(":")[0] for p in params]
    body.append("")
    body.append(
        f"    def __init__(self, {', '.join(params)}) -> None:"
        if params
        else "    def __init__(self) -> None:"
    )
    body += [f"        self.{n} = {n}" for n in names] or ["        pass"]
    body += [
        "",
        "    def __repr__(self) -> str:",
        '        shown = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())',
        '        return f"{type(self).__qualname__}({shown})"',
        "",
        "    def __eq__(self, other: object) -> bool:",
        "        if other.__class__ is not self.__class__:",
        "            return NotImplemented",
        "        return vars(self) == vars(other)",
    ]
    return lines + body


def alias_source(name: str, union: types.UnionType) -> list[str]:
    members = [a.__name__ for a in union.__args__]
    return [
        f"{name} = (",
        *(f"    {m}" if i == 0 else f"    | {m}" for i, m in enumerate(members)),
        ")",
    ]


HEADER = '''"""GENERATED by tools/gen_session_events.py from github-copilot-sdk {version}
({source}); do not edit: regenerate. {what}"""

# ruff: noqa: E501
from __future__ import annotations

'''


OPEN_MEMBER = '''
_E = TypeVar("_E", bound=Enum)


def _open_member(cls: type[_E], value: object, name: str | None) -> _E | None:
    """An unknown string value of an open enum, kept as a member named ``name``."""
    if not isinstance(value, str):
        return None
    member = object.__new__(cls)
    member._name_ = name  # type: ignore[assignment]
    member._value_ = value
    return cls._value2member_map_.setdefault(value, member)  # type: ignore[return-value]
'''


def render(
    sdk: Any, names: list[str], exported: list[str], what: str, version: str, imports: list[str]
) -> str:
    enums, classes, aliases = [], [], []
    for name in names:
        obj = getattr(sdk, name)
        if isinstance(obj, enum.EnumMeta):
            enums.append(
                enum_source(cast("type[enum.Enum]", obj), extra=name == "SessionEventType")
            )
        elif isinstance(obj, type) and dataclasses.is_dataclass(obj):
            classes.append(dataclass_source(obj))
        elif isinstance(obj, types.UnionType):
            aliases.append(alias_source(name, obj))
    text = HEADER.format(version=version, source=sdk.__name__, what=what)
    text += "\n".join(imports) + "\n\n"
    if "_open_member" in "".join("".join(b) for b in enums):
        text += OPEN_MEMBER
    text += (
        f"__all__ = [\n{''.join(f'    {n!r},{chr(10)}' for n in sorted(names) if n in exported)}]\n"
    )
    for block in enums + classes + aliases:
        text += "\n\n" + "\n".join(block) + "\n"
    return text


def main(argv: list[str]) -> int:
    """``--out DIR`` writes the two files there instead (the test's freshness check)."""
    import copilot.generated.session_events as sdk

    out = Path(argv[argv.index("--out") + 1]) if "--out" in argv else CORE_OUT.parent
    core_out, all_out = out / CORE_OUT.name, out / ALL_OUT.name

    version = metadata.version("github-copilot-sdk")
    exported = [n for n in sdk.__all__ if n not in SKIPPED]
    every = closure(sdk, exported) - set(SKIPPED)  # with the private names the members refer to
    order = [n for n in vars(sdk) if n in every]
    direct = {w for n in EMITTED for w in referenced(sdk, n)}
    core = {*EMITTED, "SessionEventType"}
    core |= {n for n in direct if isinstance(getattr(sdk, n), enum.EnumMeta)}
    core_names = [n for n in order if n in core]
    rest = [n for n in order if n not in core]
    stdlib = [
        "from dataclasses import dataclass",
        "from datetime import datetime, timedelta",
        "from enum import Enum, StrEnum",
        "from typing import TYPE_CHECKING, Any, ClassVar, TypeVar",
        "from uuid import UUID",
    ]
    later = sorted(direct - core)
    type_only = [
        "",
        "if TYPE_CHECKING:  # the nested types, defined with the rest of the surface",
        "    from copilot_repl.api.generated_events_all import (",
        *(f"        {n}," for n in later),
        "    )",
    ]
    what = "The event types copilot_repl emits (their nested types are in generated_events_all)."
    core_out.write_text(render(sdk, core_names, exported, what, version, stdlib + type_only))
    core_import = [
        "from copilot_repl.api.events import Data as Data",
        "from copilot_repl.api.generated_events import (",
        *(f"    {n} as {n}," for n in core_names),
        ")",
        "from copilot_repl.api.generated_events import __all__ as _core_all",
    ]
    what = "The rest of the SDK's event surface (loaded only by the SDK's module paths)."
    text = render(sdk, rest, exported, what, version, stdlib + core_import)
    text = text.replace("__all__ = [\n", "__all__ = [\n    *_core_all,\n", 1)
    all_out.write_text(text)
    ruff = [str(Path(sys.executable).with_name("ruff"))]
    config = ["--config", str(ROOT / "pyproject.toml")]
    files = [str(core_out), str(all_out)]
    subprocess.run([*ruff, "check", "-q", "--fix", *config, *files], check=False)
    subprocess.run([*ruff, "format", "-q", *config, *files], check=True)
    print(f"{len(core_names)} + {len(rest)} names from github-copilot-sdk {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
