"""Run one SDK program unchanged, recording what its sessions do.

    python observe.py TRACE PROGRAM

``CONFORMANCE_SIDE`` says which package the program imports: ``sdk`` (the
real github-copilot-sdk) or ``repl`` (copilot_repl). Every event a session
dispatches, and every session the client creates, resumes or deletes, is
appended to TRACE as one JSON line. The program runs as ``__main__``, so its
output, exceptions and exit status are its own.

On the ``sdk`` side the harness also routes the real CLI to the loopback
server (bring your own key): ``CONFORMANCE_PROVIDER_URL`` is added as the
``provider`` option of ``create_session``/``resume_session`` unless the
program gives one, and ``model`` (which BYOK requires) to ``create_session``
when the program names none. That is configuration, like ``OPENAI_BASE_URL``
and the default model for copilot_repl; the program's text is not touched.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import runpy
import sys
from collections.abc import Callable
from typing import Any, TextIO

SIDE = os.environ.get("CONFORMANCE_SIDE", "sdk")
PROVIDER_URL = os.environ.get("CONFORMANCE_PROVIDER_URL", "")
DEFAULT_MODEL = "gpt-4o-mini"  # copilot_repl's default model of the openai provider


class Trace:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, **record: Any) -> None:
        self.out.write(json.dumps(record, default=str) + "\n")
        self.out.flush()


# The data fields the runner compares, by event type (and the message of a
# session.error, shown in reports).
FIELDS = {
    "session.start": ("selected_model",),
    "session.resume": ("selected_model",),
    "session.model_change": ("previous_model", "new_model"),
    "session.error": ("error_type", "status_code"),
    "session.info": ("info_type", "message"),
    "session.warning": ("warning_type", "message"),
    "assistant.message": ("model",),
    "assistant.usage": ("model",),
    "abort": ("reason",),
    "session.idle": ("aborted",),
}


def _plain(value: Any) -> Any:
    value = getattr(value, "value", value)  # an enum member
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def describe(event: Any) -> dict[str, Any]:
    """The parts of an event the runner compares: type, envelope (id,
    parent, ephemeral) and the data fields named in FIELDS."""
    kind = str(getattr(event.type, "value", event.type))
    data = event.data
    parent = getattr(event, "parent_id", None)
    out: dict[str, Any] = {
        "type": kind,
        "ephemeral": getattr(event, "ephemeral", None),
        "id": str(getattr(event, "id", "")),
        "parent": str(parent) if parent else None,
    }
    if kind in ("user.message", "assistant.message"):
        out["content"] = getattr(data, "content", None)
    if kind == "session.error":
        out["message"] = getattr(data, "message", None)
    out["fields"] = {k: _plain(getattr(data, k, None)) for k in FIELDS.get(kind, ())}
    return out


def wrap_session_calls(client_cls: type, trace: Trace, *, byok: bool) -> None:
    """Record create/resume/delete; on the sdk side add the BYOK provider."""
    create = client_cls.create_session  # type: ignore[attr-defined]
    resume = client_cls.resume_session  # type: ignore[attr-defined]
    delete = client_cls.delete_session  # type: ignore[attr-defined]
    keyword_shape = "provider" in inspect.signature(create).parameters

    def with_provider(
        args: tuple[Any, ...], kw: dict[str, Any], n_pos: int, *, model: bool
    ) -> tuple[Any, ...]:
        if not byok:
            return args
        extra: dict[str, Any] = {"provider": {"type": "openai", "base_url": PROVIDER_URL}}
        if model:
            extra["model"] = DEFAULT_MODEL
        if keyword_shape:
            for key, value in extra.items():
                if kw.get(key) is None:
                    kw[key] = value
            return args
        config = dict(args[n_pos]) if len(args) > n_pos and args[n_pos] else {}
        for key, value in extra.items():
            if config.get(key) is None:
                config[key] = value
        return (*args[:n_pos], config, *args[n_pos + 1 :])

    @functools.wraps(create)
    async def create_session(self: Any, *args: Any, **kw: Any) -> Any:
        args = with_provider(args, kw, 0, model=True)
        session = await create(self, *args, **kw)
        trace(kind="create", session=session.session_id)
        return session

    @functools.wraps(resume)
    async def resume_session(self: Any, session_id: str, *args: Any, **kw: Any) -> Any:
        args = with_provider(args, kw, 0, model=False)
        session = await resume(self, session_id, *args, **kw)
        trace(kind="resume", session=session.session_id)
        return session

    @functools.wraps(delete)
    async def delete_session(self: Any, session_id: str) -> Any:
        trace(kind="delete", session=session_id)
        if not byok:  # copilot_repl: what is on disk, read back as a new process would
            try:
                saved = self.store.load(session_id).data.messages
            except Exception as exc:  # the program's own call reports it
                trace(kind="on_disk", session=session_id, error=repr(exc))
            else:
                messages = [
                    {"role": m.role, "content": m.content, "status": m.status} for m in saved
                ]
                trace(kind="on_disk", session=session_id, messages=messages)
        return await delete(self, session_id)

    client_cls.create_session = create_session  # type: ignore[attr-defined]
    client_cls.resume_session = resume_session  # type: ignore[attr-defined]
    client_cls.delete_session = delete_session  # type: ignore[attr-defined]


CLOSED = "_conformance_closed"


def observe_events(session_cls: type, name: str, trace: Trace) -> None:
    """(Not a mock: the real method still runs, on both sides; this only
    writes down what it was given, so the two runs can be compared.)
    Record each event the session dispatches while the program holds it:
    from the moment it calls ``destroy``/``disconnect``, no handler of its
    sees events any more (the SDK clears them), so none are recorded."""
    original: Callable[..., Any] = getattr(session_cls, name)

    @functools.wraps(original)
    def observed(self: Any, event: Any) -> Any:
        if not getattr(self, CLOSED, False):
            trace(kind="event", session=self.session_id, **describe(event))
        return original(self, event)

    setattr(session_cls, name, observed)
    for method in ("destroy", "disconnect"):
        closing = getattr(session_cls, method, None)
        if closing is not None:
            setattr(session_cls, method, _closing(closing, trace))


def _closing(method: Callable[..., Any], trace: Trace) -> Callable[..., Any]:
    """Record the session's ``get_events()`` (0.1: ``get_messages()``) just
    before the program closes it, then close it."""

    @functools.wraps(method)
    async def close(self: Any, *args: Any, **kw: Any) -> Any:
        if not getattr(self, CLOSED, False):
            reader = getattr(self, "get_events", None) or getattr(self, "get_messages", None)
            try:
                history = [describe(e) for e in await reader()]
            except Exception as exc:  # the program's own calls report it
                trace(kind="history", session=self.session_id, error=repr(exc))
            else:
                trace(kind="history", session=self.session_id, events=history)
        setattr(self, CLOSED, True)
        return await method(self, *args, **kw)

    return close


def install(trace: Trace) -> None:
    if SIDE == "sdk":
        import copilot.client
        import copilot.session

        observe_events(copilot.session.CopilotSession, "_dispatch_event", trace)
        wrap_session_calls(copilot.client.CopilotClient, trace, byok=True)
    else:
        import copilot_repl.api.client
        import copilot_repl.api.session

        session_cls = copilot_repl.api.session.CopilotSession
        # events as dispatched (chained); older trees dispatched from _emit
        hook = "_dispatch" if "_dispatch" in vars(session_cls) else "_emit"
        observe_events(session_cls, hook, trace)
        wrap_session_calls(copilot_repl.api.client.CopilotClient, trace, byok=False)


def main() -> int:
    trace_path, program = sys.argv[1], sys.argv[2]
    with open(trace_path, "a", encoding="utf-8") as out:
        trace = Trace(out)
        install(trace)
        sys.argv = [program]
        sys.path.insert(0, os.path.dirname(os.path.abspath(program)))
        try:
            runpy.run_path(program, run_name="__main__")
        except SystemExit as exc:
            trace(kind="exit", code=exc.code if isinstance(exc.code, int) else 1)
            raise
        except BaseException as exc:
            trace(kind="exit", code=1, error=type(exc).__name__)
            raise
        trace(kind="exit", code=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
