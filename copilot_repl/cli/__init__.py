"""The front ends that the command line starts, one module each:

- ``main``: ``copilot-repl`` itself (``run`` is the console script), which
  picks one of the others;
- ``arguments``: the command line's options, shared by all of them;
- ``launch``: what ``--model``/``--base-url`` do to the session being opened;
- ``script``: commands and prompts read from a pipe;
- ``oneshot``: ``copilot-repl "PROMPT"``;
- ``sessions``: ``copilot-repl sessions ...``;
- ``compare``: ``copilot-repl compare ...``.

The interactive shell is the other front end, in ``copilot_repl.shell``.
"""

from copilot_repl.cli.main import main, run

__all__ = ["main", "run"]
