"""Sessions as a library, at the API level: fork a session, compact one (a
summary from a model stands in for its older messages), search them all, and
the trash. The store-level halves are in ``history/`` (fork.py, compact.py,
search.py, trash.py); this module adds what needs the client: providers,
open sessions and events."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from copilot_repl.errors import ProviderError, ReplError, UsageError
from copilot_repl.history import compact, trash
from copilot_repl.history.compact import Compaction
from copilot_repl.history.fork import fork
from copilot_repl.history.log import frozen, prefix_digest
from copilot_repl.history.messages import Message, estimate_tokens, message_tokens

if TYPE_CHECKING:
    from copilot_repl.api.client import CopilotClient
    from copilot_repl.api.session import CopilotSession


async def fork_session(
    client: CopilotClient,
    session_id: str,
    new_session_id: str,
    *,
    at: int | None = None,
    model: str | None = None,
    system_message: str | None = None,
) -> CopilotSession:
    """A new session holding ``session_id``'s messages 1..``at`` (default:
    all), which records its parent and fork point; returned opened."""
    source = client.opened(session_id)
    if source is not None:
        source.refresh()
    resolved = client.config.resolve_model(model) if model else None
    fork(client.store, session_id, new_session_id, at=at, model=resolved, system=system_message)
    return await client.resume_session(new_session_id)


# -- compaction --------------------------------------------------------------


def request_view(
    found: Sequence[Compaction], system: str, messages: Sequence[Message]
) -> tuple[str, Sequence[Message], Compaction | None]:
    """What a request carries for ``messages`` of a session whose compaction
    records are ``found``: with one that still applies, the summary (in the
    system prompt) instead of the messages it replaced."""
    current = compact.current(found, messages, prefix_digest) if found else None
    view_system, view = compact.request_view(system, messages, current)
    return view_system, view, current


async def compact_session(
    client: CopilotClient,
    session: CopilotSession,
    focus: str = "",
    *,
    model: str | None = None,
    keep_tokens: int = 0,
) -> Compaction:
    """Ask a model (the session's, or ``model``) for a summary of the older
    messages and save it: later requests send the summary plus the recent
    messages. The messages stay on disk. ``UsageError`` if there is too
    little to compact; ``ProviderError`` if the model fails."""
    if session.busy:
        raise UsageError(f"{session.session_id} is answering; :compact when it is done")
    return await _compact(client, session, focus, model=model, keep_tokens=keep_tokens)


async def _compact(
    client: CopilotClient,
    session: CopilotSession,
    focus: str = "",
    *,
    model: str | None,
    keep_tokens: int,
) -> Compaction:
    session.refresh()
    # as they are now (the awaits below may see them change), not in memory
    # whole: a long session's older messages stay on disk
    messages = frozen(session.messages)
    model = model or client.config.summary_model
    model = client.config.resolve_model(model) if model else session.model
    provider_name, _, model_id = model.partition(":")
    provider = client.provider(provider_name)
    cfg = provider.config
    keep = keep_tokens or 0  # explicit: all but the last KEEP_RECENT messages
    upto = compact.plan(messages, keep_tokens=keep)
    previous = compact.current(session.compactions, messages)
    if upto < 2 or (previous is not None and upto <= previous.upto):
        raise UsageError(f"nothing to compact in {session.session_id}: its history is short")
    budget = max(cfg.context_tokens - cfg.reply_tokens, 512)
    text = ""
    start = previous.upto if previous is not None else 0
    summary = previous
    pieces = 0
    # Older parts larger than the summariser's window are summarised in
    # pieces, each building on the summary so far.
    while start < upto:
        end = _piece_end(messages, start, upto, budget, summary)
        request = compact.summary_request(messages, end, summary, focus)
        async with client.slot(provider_name):
            reply = await provider.stream(
                model_id, request, lambda _d: None, lambda _s: None, session_id=""
            )
        text = reply.text.strip()
        if not text:
            raise ProviderError(f"{model} returned an empty summary; nothing was changed")
        summary = compact.make(messages, end, text, model=model, ts=time.time(), focus=focus)
        start = end
        pieces += 1
        if start < upto and (estimate_tokens(text) > budget // 2 or pieces >= MAX_PIECES):
            # a verbose summariser would leave room for one message a request
            raise ProviderError(
                f"{model} wrote a summary of about {estimate_tokens(text):,} tokens, too long "
                f"to go on with (its window holds {budget:,}); nothing was changed "
                "(a summary_model with a larger window, or a narrower FOCUS)"
            )
    assert summary is not None
    client.store.append(session.session_id, summary.record())
    session.refresh()
    return summary


MAX_PIECES = 32  # requests one compaction may make


def _piece_end(
    messages: Sequence[Message], start: int, upto: int, budget: int, summary: Compaction | None
) -> int:
    used = 200 + (estimate_tokens(summary.text) if summary is not None else 0)
    end = start
    while end < upto and used + message_tokens(messages[end]) <= budget:
        used += message_tokens(messages[end])
        end += 1
    return max(end, start + 1)


def should_auto_compact(
    fraction: float, context_tokens: int, system: str, messages: Sequence[Message]
) -> bool:
    """``auto_compact``: whether what would be sent uses more than
    ``fraction`` of the window (0: never)."""
    if fraction <= 0:
        return False
    limit = fraction * context_tokens
    used = estimate_tokens(system)
    if used > limit:
        return True
    for m in reversed(messages):  # the newest first: a long history is not read whole
        used += message_tokens(m)
        if used > limit:
            return True
    return False


async def auto_compact(client: CopilotClient, session: CopilotSession) -> str | None:
    """After a turn (in the session's queue, before the next prompt): with
    ``auto_compact`` set, compact when the next request would use more than
    that fraction of the window, keeping about half of it as it is. Returns
    what it did, or why it failed (for a ``session.info`` event), or None if
    nothing was to do; never raises."""
    fraction = client.config.auto_compact
    if fraction <= 0:
        return None
    try:
        window = client.provider(session.model.partition(":")[0]).config.context_tokens
        system, view, _ = request_view(
            session.compactions, session.system_message, session.messages
        )
        if not should_auto_compact(fraction, window, system, view):
            return None
        keep = int(window * fraction / 2)
        done = await _compact(client, session, model=None, keep_tokens=keep)
    except UsageError:
        return None  # nothing that can be summarised yet
    except ReplError as exc:
        return f"auto_compact failed: {exc}; the history is unchanged"
    return (
        f"messages 1-{done.upto} summarised to fit the context window (auto_compact); "
        "they stay on disk"
    )


# -- trash -------------------------------------------------------------------


def purge_old_trash(client: CopilotClient) -> tuple[list[trash.Entry], list[str]]:
    """``trash_days``: purge the trash entries removed longer ago than that,
    their text from the search index too; returns them, and one line for
    each that cannot be purged now (a turn in flight: it stays for next time)."""
    gone, kept = trash.purge_older(client.store, client.config.trash_days)
    if gone:
        from copilot_repl.history.search import forget_session_text  # sqlite3: only now

        for name in {e.name for e in gone}:
            forget_session_text(client.store, name)
    return gone, kept


async def restore_session(
    client: CopilotClient, spec: str, as_name: str | None = None
) -> CopilotSession:
    """Bring a trash entry back (``NAME`` or ``NAME~STAMP``) and open it."""
    entry = trash.find(client.store, spec)
    name = trash.restore(client.store, entry, as_name)
    return await client.resume_session(name)
