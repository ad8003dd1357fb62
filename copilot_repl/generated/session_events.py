"""SDK import path ``copilot.generated.session_events``: the event types,
defined in ``copilot_repl.api.events``."""

from copilot_repl.api.events import *  # noqa: F403
from copilot_repl.api.events import __all__ as __all__  # noqa: F401
