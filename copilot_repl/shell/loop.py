"""The interactive shell: a prompt_toolkit prompt in front of the Repl.

While a line runs (a reply streams, ``:wait`` waits), keys are still read:
a prompt typed and sent with Enter is queued for the current session at
once (echoed, in the toolbar and ``:jobs``) and shown live when its turn
comes; a ``:command`` typed then runs after the line; a line not finished
is put back in the prompt."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import re
import shlex
import signal
import sys
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any, cast

from copilot_repl.api.client import CopilotClient
from copilot_repl.api.turn import TurnState
from copilot_repl.errors import ReplError, UsageError
from copilot_repl.repl.controller import Repl
from copilot_repl.repl.parsing import Line, dropped_file, natural_sorted, parse_line
from copilot_repl.repl.wording import excerpt
from copilot_repl.sanitize import BIDI_CONTROLS, clean
from copilot_repl.shell import first_frame
from copilot_repl.shell.first_frame import FirstFrame
from copilot_repl.shell.keys import build_key_bindings
from copilot_repl.shell.terminal import TerminalOutput
from copilot_repl.shell.toolbar import toolbar_fragments
from copilot_repl.shell.tty import echo_on, hold_no_echo, no_echo, pending_input

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession
    from rich.console import Console

    from copilot_repl.api.session import CopilotSession
    from copilot_repl.api.turn import Turn
    from copilot_repl.repl.completion import Sources
    from copilot_repl.repl.tools import ToolPolicy
    from copilot_repl.shell.display import ShellOutput

STYLE = {
    "toolbar.current": "reverse bold",
    "toolbar.streaming": "ansigreen",
    "toolbar.queued": "ansiyellow",
    "toolbar.permission": "bold ansiyellow",
    "toolbar.unread": "ansicyan bold",
    "toolbar.failed": "ansired",
    "bottom-toolbar": "noreverse",
    "prompt.name": "bold ansicyan",
    "prompt.model": "ansibrightblack",
}
# --plain / NO_COLOR: no colour anywhere; the current session stays marked
PLAIN_STYLE = {"toolbar.current": "reverse", "bottom-toolbar": "noreverse"}
# what a terminal sends for keys that mean nothing in a line typed ahead
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"  # how a terminal marks a paste
_KEY_SEQUENCE = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|O.|[^\n])?")


class Shell:
    """Owns the prompt and routes Ctrl-C / Ctrl-Z while a line runs."""

    def __init__(
        self,
        repl: Repl,
        out: ShellOutput,
        *,
        input: Any = None,
        output: Any = None,
        plain: bool = False,
    ) -> None:
        self.repl = repl
        self.out = out
        self.plain = plain
        self.busy: asyncio.Task[None] | None = None
        # the terminal whose echo is turned off while a reply streams (not
        # when keys come from elsewhere, as in tests)
        self.tty: IO[Any] | None = sys.stdin if input is None else None
        self.session = self._prompt_session(input, output)
        # TERM=dumb: prompt_toolkit's simplest prompt (no cursor moves, no colour)
        self._dumb = output is None and _is_dumb_terminal()
        out.prompt = self.session
        if isinstance(out, TerminalOutput):
            out.own_terminal = self._lend_terminal
        self._line: Line | None = None  # the line running
        self._stop = ""  # why it was stopped: "interrupt" or "background"
        self._partial = ""  # keys typed ahead, no Enter yet
        self._pasted: str | None = None  # a marked paste read so far (None: not in one)
        out.typing = lambda: _KEY_SEQUENCE.sub("", self._partial)  # shown under a reply
        self._held: list[str | None] = []  # lines typed ahead, run after (None: Ctrl-D)
        self._typed: list[Turn] = []  # prompts typed ahead: shown when their turn comes
        self._reader: Any = None  # the callback reading keys ahead, while one is set
        self._tasks: set[asyncio.Task[None]] = set()
        self._after_line: list[str] = []  # notices said once the line running ends
        self._quit_over_reply = False  # Ctrl-D was typed while a reply streamed
        # the terminal's modes before the first frame took it (first_frame.py)
        self.modes_found: list[Any] | None = None

    def _prompt_session(self, input: Any, output: Any) -> PromptSession[str]:
        # start-up: prompt_toolkit loads after the first frame
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory, InMemoryHistory
        from prompt_toolkit.output import ColorDepth
        from prompt_toolkit.styles import Style

        from copilot_repl.repl.completion import make_completer  # start-up: after the frame

        path = self.repl.client.store.input_history_path()
        history = FileHistory(str(path)) if path is not None else InMemoryHistory()
        show_bidi_controls()
        return PromptSession(
            vi_mode=self.repl.client.config.editing_mode == "vi",
            history=history,
            completer=make_completer(self._sources),  # type: ignore[arg-type]
            complete_while_typing=False,
            key_bindings=build_key_bindings(),
            bottom_toolbar=cast(Any, self._toolbar),
            style=Style.from_dict(PLAIN_STYLE if self.plain else STYLE),
            include_default_pygments_style=not self.plain,
            color_depth=ColorDepth.MONOCHROME if self.plain else None,
            refresh_interval=0.5,
            input=input,
            output=output,
            enable_history_search=False,
            enable_open_in_editor=True,  # Ctrl-X Ctrl-E
            # the line taken is printed again by _echo: a prompt taller than the
            # screen is only partly drawn, and the scrollback must hold it whole
            erase_when_done=True,
        )

    # -- what the prompt shows ------------------------------------------
    def _message(self) -> list[tuple[str, str]]:
        return prompt_fragments(self.repl)

    def _toolbar(self) -> list[tuple[str, str]]:
        names = natural_sorted(self.repl.client.store.listed(self.repl.current_name))
        states = [(name, self.repl.display_state(name)) for name in names]
        queued = {}
        for name in names:
            opened = self.repl.client.opened(name)
            waiting = [t for t in opened.pending if not t.cancelled] if opened else []
            if opened is not None and opened.turn is None:
                waiting = waiting[1:]  # the first is about to start: the session's turn
            if waiting:
                queued[name] = len(waiting)
        width = self.session.output.get_size().columns
        mode = self._vi_mode()
        bar = toolbar_fragments(states, self.repl.current_name, width - len(mode), queued)
        return [("class:toolbar.mode", mode), *bar] if mode else bar

    def _vi_mode(self) -> str:
        """``editing_mode = "vi"``: the mode, as vi shows it ("" in emacs mode)."""
        if self.repl.client.config.editing_mode != "vi":
            return ""
        # start-up: prompt_toolkit loads after the first frame
        from prompt_toolkit.key_binding.vi_state import InputMode

        names = {InputMode.NAVIGATION: "NORMAL", InputMode.REPLACE: "REPLACE"}
        mode = names.get(self.session.app.vi_state.input_mode, "INSERT")
        return f"-- {mode} -- "

    def _sources(self) -> Sources:
        # start-up: the completer's and the trash's modules load at the first Tab
        from copilot_repl.history.trash import entries
        from copilot_repl.repl.completion import Sources

        cfg = self.repl.client.config
        models = {f"{p.name}:{p.default_model}" for p in cfg.providers.values()} | set(cfg.aliases)
        for provider, names in self.repl.known_models.items():
            models.update(f"{provider}:{m}" for m in names)

        store = self.repl.client.store
        in_trash = entries(store)
        return Sources(
            self.repl.registry.commands,
            natural_sorted(store.names()),
            sorted(models),
            sorted(cfg.providers),
            trash=[*dict.fromkeys(e.name for e in in_trash), *(e.id for e in in_trash)],
            counts={s.name: s.messages for s in store.summaries()},
            current=self.repl.current_name,
            tools=[t.name for t in self.repl.session.settings.tools] if self.repl.session else [],
            servers=sorted(cfg.mcp),
        )

    # -- signals ----------------------------------------------------------
    def on_sigint(self) -> None:
        if self.out.interrupt():
            return
        if self.busy is not None and not self.busy.done():
            self._stop = "interrupt"
            self.busy.cancel()

    def on_sigtstp(self) -> None:
        if self.out.suspend():
            return
        line = self._line
        waiting = line is not None and line.kind == "command" and line.name == "wait"
        if waiting and self.busy is not None and not self.busy.done():
            self._stop = "background"
            self.busy.cancel()

    # -- the loop ---------------------------------------------------------
    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, self.on_sigint)
        loop.add_signal_handler(signal.SIGTSTP, self.on_sigtstp)
        # The terminal never echoes keys while the shell runs: the prompt
        # shows them, and the read-ahead while a line runs. Between the two
        # (a line taken, a line ended, the first frame handed over: longer on
        # a loaded machine) a terminal echo would show them a second time (a
        # prompt typed then was twice in the scrollback). prompt_toolkit puts
        # these modes back after each prompt.
        give_back = hold_no_echo(self.tty, self.modes_found)
        try:
            while not self.repl.quitting:
                text = await self._read()
                typed = False
                if text is None:
                    self.repl.quitting = True
                    # Ctrl-D typed during a reply: asked, not obeyed unseen when it ends
                    typed, self._quit_over_reply = self._quit_over_reply, False
                else:
                    await self._run_line(text)
                if self.repl.quitting and not await self._confirm_quit(typed_ahead=typed):
                    self.repl.quitting = False
        finally:
            give_back()
            loop.remove_signal_handler(signal.SIGINT)
            loop.remove_signal_handler(signal.SIGTSTP)
        return 0

    async def _read(self) -> str | None:
        """The next line: one typed ahead (echoed as if typed now), else what
        is typed at the prompt."""
        if self._held:
            text = self._held.pop(0)
            if text is not None:
                self._echo(text)  # as if typed at the prompt now
            return text
        default, self._partial = self._partial, ""
        while True:
            try:
                message = cast(Any, self._message)
                text = await self.session.prompt_async(
                    message, handle_sigint=False, default=default
                )
                if not self._dumb:  # the dumb prompt leaves its line on the screen
                    self._echo(text)
                return text
            except KeyboardInterrupt:
                default = ""
                continue  # Ctrl-C at the prompt clears the line
            except EOFError:
                return None

    def _echo(self, text: str, session: CopilotSession | None = None) -> None:
        """The prompt (of ``session``, default the current one) and the line
        taken, printed once into the scrollback, the terminal wrapping it
        (whatever its height)."""
        # start-up: prompt_toolkit loads after the first frame
        from prompt_toolkit import print_formatted_text
        from prompt_toolkit.formatted_text import FormattedText

        # as the prompt line showed it: no control reaches the terminal raw
        line = FormattedText([*prompt_fragments(self.repl, session), ("", clean(text))])
        if self._dumb:  # as the dumb prompt writes it: the text alone
            self.session.output.write("".join(f[1] for f in line) + "\r\n")
            self.session.output.flush()
            return
        print_formatted_text(
            line,
            style=self.session.style,
            output=self.session.output,
            color_depth=self.session.color_depth,
            include_default_pygments_style=False,
        )

    async def _run_line(self, text: str) -> None:
        line = parse_line(text)
        session = self.repl.session
        if line.kind == "prompt" and not line.background and session is not None and session.busy:
            # the session is answering something else: queue the prompt, then
            # show what the session streams until it is answered
            await self._run(self._queue(session, line.args), line)
        else:
            await self._run(self.repl.handle(text), line)
        if not self._held:  # lines typed ahead run first (:jobs sees the queue)
            await self._follow_typed()

    async def _run(self, work: Any, line: Line | None) -> None:
        """Run ``work`` (a coroutine) as the busy line: Ctrl-C and Ctrl-Z
        reach it, and keys typed meanwhile are read ahead."""
        self._line, self._stop = line, ""
        self.busy = asyncio.ensure_future(work)
        try:
            with no_echo(self.tty), self._reading_ahead():
                await self.busy
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if me is not None and me.cancelling():
                raise  # the shell itself is being cancelled, not just this line
            self.out.status(self._stopped())
        finally:
            self.busy = None
            self._line = None
            said, self._after_line = self._after_line, []
            for text in said:
                self.out.status(text)

    def _stopped(self) -> str:
        """What Ctrl-C (or Ctrl-Z) on a line that was not showing a reply did."""
        line = self._line
        if line is not None and line.kind == "command":
            what = "waiting" if line.name == "wait" else f":{line.name}"
        else:
            what = "that"
        running = natural_sorted({t.session_id for t in self.repl.turns() if not t.cancelled})
        if not running:
            return f"stopped {what}"
        names = ", ".join(running)
        if self._stop == "background":
            verb = "continues" if len(running) == 1 else "continue"
            return f"stopped {what}; {names} {verb} in the background"
        verb = "is" if len(running) == 1 else "are"
        return f"stopped {what}; {names} {verb} still streaming (:jobs lists it, :cancel stops it)"

    # -- prompts typed while a line runs ------------------------------------
    async def _queue(self, session: CopilotSession, text: str, *, follow: bool = True) -> None:
        """Queue ``text`` for ``session``, echoed; with ``follow``, it is shown
        live when its turn comes."""
        try:
            if not text.strip():
                raise UsageError("the prompt is empty")
            if self._needs_question(session):
                self._held.append(text)  # asked at the prompt, not over a reply
                return
            await self.repl.ready(session)
            turn = await session.submit(text)
        except ReplError as exc:
            self.repl.fail(str(exc))
            return
        waiting = [t for t in session.pending if not t.cancelled]
        where = f"#{len(waiting)} in line" if turn in waiting else "next"
        how = "" if follow else " (in the background)"
        said = f"queued for {session.session_id}{how}, {where}: {excerpt(text, 60)}"
        if follow and self.busy is not None:
            self._after_line.append(said)  # not between the reply shown and its prompt
        else:
            self.out.status(said)
        if follow:
            self._typed.append(turn)

    def _needs_question(self, session: CopilotSession) -> bool:
        """Sending would first ask about plain http (never over a reply)."""
        provider = self.repl.client.provider(session.model.partition(":")[0])
        return provider.insecure_host() is not None

    async def _follow_typed(self) -> None:
        """Show the prompts typed ahead as they are answered (Ctrl-Z: leave
        them to the background; Ctrl-C: cancel the reply shown, go on)."""
        while self._typed and not self.repl.quitting:
            turn = self._typed[0]
            session = self.repl.client.opened(turn.session_id)
            if session is None or not turn.running:
                self._typed.pop(0)
                continue
            now = session.turn if session.turn is not None and session.turn.running else turn
            if now is turn:  # its prompt line above its reply, as if typed now
                self._echo(turn.prompt, session)
                self.out.introduced.add(turn.rid)
            await self._run(self.repl.follow(session, now), None)
            if now.running:  # sent to the background
                self._typed.clear()

    @contextlib.contextmanager
    def _reading_ahead(self) -> Iterator[None]:
        fd = self._keys_fd()
        if fd is None:
            yield
            return
        # start-up: prompt_toolkit loads after the first frame
        from prompt_toolkit.input.typeahead import get_typeahead

        loop = asyncio.get_running_loop()
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        pipe = not os.isatty(fd)
        # keys the prompt read past the line's Enter come first (a paste marked)
        self._keys("".join(_as_typed(key) for key in get_typeahead(self.session.input)))

        def readable() -> None:
            try:
                data = os.read(fd, 4096)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
                pipe_closed = True
            else:
                pipe_closed = pipe and not data
            if pipe_closed:
                loop.remove_reader(fd)
                self._reader = None
            elif not data:  # Ctrl-D on an empty line of a terminal
                self._keys("\x04")
            else:
                self._keys(decoder.decode(data))

        self._reader = (fd, readable)
        loop.add_reader(fd, readable)
        # a paste marked by the terminal (as at the prompt): one line of text,
        # not one line typed ahead for each line pasted
        marked = not pipe and self._mark_pastes(True)
        try:
            yield
        finally:
            if self._reader is not None:
                loop.remove_reader(fd)
                if not pipe:
                    self._unfinished(pending_input(fd).decode("utf-8", "replace"))
            self._reader = None
            if self._pasted is not None:  # a paste cut short: its text so far kept
                self._partial, self._pasted = self._partial + self._pasted, None
            if marked:
                self._mark_pastes(False)

    def _mark_pastes(self, on: bool) -> bool:
        """Ask the terminal to mark a paste (bracketed paste), or not (never
        a dumb one: it would show the request as text)."""
        if self._dumb:
            return False
        output = self.session.output
        try:
            output.enable_bracketed_paste() if on else output.disable_bracketed_paste()
            output.flush()
        except (OSError, ValueError):
            return False
        return True

    def _unfinished(self, keys: str) -> None:
        """Keys a terminal still held when the line ended: taken as typed
        (a Tab is not run later, and says so; the rest starts the next prompt)."""
        self._keys(keys)

    def _keys_fd(self) -> int | None:
        try:
            return int(self.session.input.fileno())
        except (AttributeError, NotImplementedError, OSError, ValueError):
            return None

    @contextlib.contextmanager
    def _lend_terminal(self) -> Iterator[None]:
        """For a child process (the editor): no keys read ahead, echo on."""
        reader = self._reader
        loop = asyncio.get_running_loop()
        if reader is not None:
            loop.remove_reader(reader[0])
            self._mark_pastes(False)  # the editor's own way with a paste
        try:
            with echo_on(self.tty):
                yield
        finally:
            if reader is not None and self._reader is reader:
                loop.add_reader(*reader)
                self._mark_pastes(True)

    def _keys(self, text: str) -> None:
        """Keys typed while a line runs: a terminal hands them over a line at
        a time (it does the editing); a pipe, as typed. A paste the terminal
        marks is text (its newlines and tabs too), as at the prompt; a file's
        path pasted alone on an empty line becomes ``:file PATH``."""
        i = 0
        while i < len(text):
            if self._pasted is not None:
                i = self._paste_keys(text, i)
                continue
            ch = text[i]
            i += 1
            if ch in "\r\n":
                if self._partial.endswith("\x1b"):  # Esc Enter: a newline in the prompt
                    self._partial = self._partial[:-1] + "\n"
                    continue
                line, self._partial = _KEY_SEQUENCE.sub("", self._partial), ""
                self._typed_ahead(line)
            elif ch == "\t":
                self.out.status("Tab pressed during the reply: not run (at the prompt it switches)")
            elif ch in "\x7f\x08":
                self._partial = self._partial[:-1]
            elif ch == "\x15":  # Ctrl-U
                self._partial = ""
            elif ch == "\x04" and not self._partial:  # Ctrl-D: quit, once the line ends
                self._held.append(None)
                self._quit_over_reply |= any(t.running for t in self.repl.turns())
            elif ch == "\x1b" or ch >= " ":
                self._partial += ch
                if self._partial.endswith(PASTE_START):
                    self._partial = self._partial[: -len(PASTE_START)]
                    self._pasted = ""

    def _paste_keys(self, text: str, i: int) -> int:
        """The keys of a marked paste from ``text[i:]`` (``_keys``), taken a
        read at a time, not a key at a time; returns where the paste's end
        leaves ``text`` (its length, if the paste goes on)."""
        before = self._pasted or ""
        pasted = before + text[i:].replace("\r", "\n")  # as long: indexes stay
        # its first end: none within what came before (it would have ended there)
        end = pasted.find(PASTE_END, max(len(before) - len(PASTE_END) + 1, 0))
        if end < 0:
            self._pasted = pasted
            return len(text)
        self._pasted = None
        body = pasted[:end]
        path = dropped_file(body) if not self._partial else None
        self._partial += body if path is None else f":file {shlex.quote(path)}"
        return i + end + len(PASTE_END) - len(before)

    def _typed_ahead(self, text: str) -> None:
        """A line typed while another runs. A prompt for the current session
        while it answers is queued now; anything else (or anything after a
        line held) runs in order once the line ends."""
        line = parse_line(text)
        session = self.repl.session
        if line.kind == "empty":
            return
        replying = session is not None and session.busy
        if self._held or line.kind == "command" or session is None or not replying:
            self._held.append(text)
            if replying:
                self.out.status(f"after this reply: {excerpt(text, 60)}")
            return
        task = asyncio.ensure_future(self._queue(session, line.args, follow=not line.background))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _confirm_quit(self, *, typed_ahead: bool = False) -> bool:
        # an ended turn stays the session's until its queue moves on: not asked about
        live = (TurnState.QUEUED, TurnState.STREAMING)
        turns = [t for t in self.repl.turns() if not t.cancelled and t.state in live]
        if not turns:
            if typed_ahead:
                return await self.out.confirm("Ctrl-D was pressed during the reply; quit? [y/N] ")
            return True
        what = "1 reply is" if len(turns) == 1 else f"{len(turns)} replies are"
        return await self.out.confirm(f"{what} still streaming; quit and cancel? [y/N] ")


WARM_AFTER = 0.3  # seconds: after the first prompt is drawn


def warm_imports() -> None:
    """Import what the first reply and the first command need (httpx, rich's
    Markdown with our code blocks, the command modules): in a thread, while
    the prompt waits for keys."""
    # start-up: each of these loads here, in a thread, after the first frame
    import io

    # start-up: as above
    import httpx  # noqa: F401
    from rich.console import Console

    # start-up: as above
    import copilot_repl.repl.commands  # noqa: F401
    from copilot_repl.render.markdown import markdown

    # a small reply drawn once, to nowhere: markdown-it's parser and a code
    # block's lexer and style load now, not in the first reply or :history
    # (the first drawing cost ~80 ms, the next ~7 ms)
    sample = "# w\n\n- *x* `y`\n\n```python\nx = 1\n```\n"
    Console(file=io.StringIO(), width=80, force_terminal=True).print(markdown(sample))


def warm_up(repl: Repl, out: TerminalOutput) -> asyncio.Future[None]:
    """``warm_imports`` in a thread, then, back on the loop, what may not be
    made in a thread (the console, which asks the terminal its size; the
    command table): a first ``:switch`` cost 55 ms more than the next."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def then(imported: asyncio.Future[None]) -> None:
        if imported.cancelled() or imported.exception() is not None:
            done.set_result(None)  # the first use imports it again and says what fails
            return
        out.console  # noqa: B018 (made now, not at the first line printed)
        repl.registry  # noqa: B018
        done.set_result(None)

    loop.run_in_executor(None, warm_imports).add_done_callback(then)
    return done


def prompt_fragments(repl: Repl, session: CopilotSession | None = None) -> list[tuple[str, str]]:
    """The prompt: the current session (or ``session``) and its model."""
    s = session or repl.session
    if s is None:
        return [("", "> ")]
    return first_frame.prompt(s.session_id, repl.masks.model(s.session_id, s.model))


def welcome(repl: Repl) -> list[str]:
    """The start-up lines (``first_frame.welcome``) for the session opened."""
    session = repl.session
    if session is None:
        return first_frame.welcome()
    model = repl.masks.model(session.session_id, session.model)
    return first_frame.welcome(session.session_id, model, session.messages)


async def run_shell(
    client: CopilotClient,
    session_name: str | None,
    *,
    plain: bool,
    input: Any = None,
    output: Any = None,
    file: IO[str] | None = None,
    tools: tuple[ToolPolicy, list[str]] | None = None,
    frame: FirstFrame | None = None,
) -> int:
    """Run the interactive shell until :quit or Ctrl-D; returns the exit status.
    ``tools``: --allow-tool and --tools (see cli/main.py); ``frame``: the
    first frame drawn already from the files (cli/main.py), kept if it shows
    what the shell shows, else withdrawn before anything is said."""

    def console() -> Console:  # rendering loads after the first frame
        from copilot_repl.render.markdown_stream import make_console  # start-up: see above

        if frame is not None:
            frame.withdraw()  # a warning, say, before the welcome lines
        return make_console(file or sys.stdout, plain=plain)

    out = TerminalOutput(console, plain=plain)
    repl = Repl(client, out)
    if tools is not None:
        repl.tool_policy, repl.default_tools = tools
    try:
        await client.start()
        await repl.open_initial(session_name)
        screen = file or sys.stdout
        lines = welcome(repl)
        mono = plain or bool(os.environ.get("NO_COLOR"))  # as prompt_toolkit will draw it
        if frame is None or not frame.up or frame.lines != lines:
            if frame is not None:
                frame.withdraw()
            screen.write("".join(line + "\n" for line in lines))  # before rich loads
            screen.flush()
            if frame is not None:  # the terminal's modes are the frame's already
                frame.draw(prompt_fragments(repl), plain=mono)
            elif input is None and output is None and file is None:  # before prompt_toolkit
                frame = FirstFrame.show(screen, sys.stdin, prompt_fragments(repl), plain=mono)
        shell = Shell(repl, out, input=input, output=output, plain=plain)
        if frame is not None:
            frame.hand_over()  # prompt_toolkit's first draw replaces it
            shell.modes_found = frame.saved  # given back when the shell ends
        client.warm(repl.session)  # the embedded model starts loading now
        # The prompt is drawn first; then the modules the first reply needs
        # load in a thread, so that reply does not wait for them.
        loop = asyncio.get_running_loop()
        warming: list[asyncio.Future[None]] = []  # held until the shell ends
        loop.call_later(WARM_AFTER, lambda: warming.append(warm_up(repl, out)))
        return await shell.run()
    finally:
        if frame is not None:
            frame.clear()
        await repl.close()


def show_bidi_controls() -> None:
    """What is typed or pasted on the prompt line shows a bidi control by
    name (⟦U+202E⟧), as the output does, instead of letting it reorder the
    line: prompt_toolkit draws the characters of ``Char.display_mappings``
    as given (the text itself is unchanged)."""
    # start-up: prompt_toolkit loads after the first frame
    from prompt_toolkit.layout.screen import Char

    for c in BIDI_CONTROLS:
        Char.display_mappings.setdefault(c, f"⟦U+{ord(c):04X}⟧")


def _as_typed(key: Any) -> str:
    """A key prompt_toolkit read, as the terminal sent it (a paste marked)."""
    # start-up: prompt_toolkit loads after the first frame
    from prompt_toolkit.keys import Keys

    if key.key == Keys.BracketedPaste:
        return PASTE_START + str(key.data) + PASTE_END
    return str(key.data)


def _is_dumb_terminal() -> bool:
    """Whether prompt_toolkit draws its simplest prompt here (TERM=dumb)."""
    # start-up: prompt_toolkit loads after the first frame
    from prompt_toolkit.utils import is_dumb_terminal

    return is_dumb_terminal()
