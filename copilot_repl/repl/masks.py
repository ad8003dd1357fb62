"""Which sessions' models must not be shown: a blind comparison's, until the
vote. The front end holds one ``Masks`` (``Frontend.masks``) and asks it
wherever a model or provider would appear next to a session: column headers,
``:jobs``, ``:ls``, notices. Blind sessions also carry neutral names
(``blind-7f3a-A``), so the toolbar and the prompt show nothing to hide.

    masks.hide("blind-7f3a-A", "openai:gpt-4o-mini")
    masks.model("blind-7f3a-A", "openai:gpt-4o-mini")   -> "hidden"
    masks.scrub("blind-7f3a-A", "queued at openai")      -> "queued at (hidden)"
    masks.reveal("blind-7f3a-A")

With a ``BlindStore`` (``Masks(BlindStore(data_dir))``) the blind
comparisons pending on disk count too, whichever process started them: a
session stays hidden until its comparison's vote is in (or it is dropped).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from copilot_repl.history.blinds import BlindStore

HIDDEN = "hidden"


class Masks:
    def __init__(self, store: BlindStore | None = None, own: dict[str, str] | None = None) -> None:
        self._own: dict[str, str] = own or {}  # session id -> its model, hidden here
        self.store = store

    @property
    def _models(self) -> dict[str, str]:
        if self.store is None:
            return self._own
        return {**self.store.hidden(), **self._own}

    def hide(self, session_id: str, model: str) -> None:
        self._own[session_id] = model

    def reveal(self, session_id: str) -> None:
        """Shown again here (still hidden while a pending comparison on disk
        holds it: another pair of a batch, say)."""
        self._own.pop(session_id, None)

    def hidden(self, session_id: str) -> bool:
        return session_id in self._models

    def __bool__(self) -> bool:
        return bool(self._models)

    def model(self, session_id: str, model: str) -> str:
        """What to show for ``session_id``'s model."""
        return HIDDEN if session_id in self._models else model

    def shown(self) -> Masks:
        """These masks as they are now, read once (a table of many sessions
        asks ``model`` of each; the store is looked at here only)."""
        return Masks(None, dict(self._models))

    def scrub(self, session_id: str, text: str) -> str:
        """``text`` about ``session_id`` with any hidden model or provider
        name replaced (a status line, an error, a notice)."""
        if session_id not in self._models:
            return text
        words: set[str] = set()
        for model in self._models.values():  # the others' too: no hint by elimination
            provider, _, name = model.partition(":")
            words.update(w for w in (model, name, provider) if w)
        pattern = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
        return re.sub(rf"(?<![\w.-])(?:{pattern})(?![\w-])", f"({HIDDEN})", text)
