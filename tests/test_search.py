"""The full-text index: results, ranking, filters, and staying in step with
the session files (rebuild after deletion and corruption, writes by another
process, purge)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from helpers import msg
from hypothesis import given, settings
from hypothesis import strategies as st

from copilot_repl.errors import UsageError
from copilot_repl.history import compact, search
from copilot_repl.history.messages import SessionData
from copilot_repl.history.search import INDEX_FILE, SearchIndex, fts_query, since_ago
from copilot_repl.history.store import Store


def store_with(root: Path, **sessions: list[tuple[str, str]]) -> Store:
    store = Store(root)
    for name, messages in sessions.items():
        store.create(SessionData(name=name, model="openai:gpt-4o-mini", created=1000.0))
        store.append(
            name, *(msg(role, text, ts=1000.0 + i) for i, (role, text) in enumerate(messages))
        )
    return store


def found(index: SearchIndex, query: str, **kw: object) -> list[tuple[str, int]]:
    return [(h.session, h.n) for h in index.search(query, **kw)]  # type: ignore[arg-type]


def test_finds_prompts_and_replies_with_numbers_and_snippets(tmp_path: Path) -> None:
    store = store_with(
        tmp_path,
        a=[("user", "how do I make a venv"), ("assistant", "python -m venv .venv")],
        b=[("user", "tell me about tokio"), ("assistant", "an async runtime for Rust")],
    )
    with SearchIndex(store) as index:
        assert sorted(found(index, "venv")) == [("a", 1), ("a", 2)]
        (hit,) = index.search("runtime")
        assert (hit.session, hit.n, hit.role) == ("b", 2, "assistant")
        assert ("runtime", True) in hit.parts()
        assert "".join(text for text, _ in hit.parts()) == "an async runtime for Rust"
        assert found(index, "nothing-like-this") == []


def test_a_prompt_ranks_above_a_reply_with_the_same_match(tmp_path: Path) -> None:
    store = store_with(
        tmp_path,
        early=[("assistant", "the flux capacitor needs power")],
        late=[("user", "the flux capacitor needs power")],
    )
    with SearchIndex(store) as index:
        assert [h.role for h in index.search("capacitor")] == ["user", "assistant"]
    store2 = store_with(
        tmp_path / "two",
        late=[("assistant", "the flux capacitor needs power")],
        early=[("user", "the flux capacitor needs power")],
    )
    with SearchIndex(store2) as index:
        assert [h.role for h in index.search("capacitor")] == ["user", "assistant"]


def test_filters(tmp_path: Path) -> None:
    store = store_with(
        tmp_path,
        a=[("user", "alpha beta"), ("assistant", "alpha gamma")],
        b=[("user", "alpha delta")],
    )
    store.append("b", {"t": "meta", "model": "ollama:llama3.2"})
    store.append("b", msg("assistant", "alpha again", ts=5000.0, model="ollama:llama3.2"))
    with SearchIndex(store) as index:
        assert sorted(found(index, "alpha", session="a")) == [("a", 1), ("a", 2)]
        assert sorted(found(index, "alpha", role="user")) == [("a", 1), ("b", 1)]
        assert found(index, "alpha", role="assistant", session="b") == [("b", 2)]
        assert found(index, "alpha", model="llama3.2", role="assistant") == [("b", 2)]
        assert found(index, "alpha", since=4000.0) == [("b", 2)]
        with pytest.raises(UsageError):
            index.search("alpha", role="system")


def test_phrases_prefixes_and_punctuation(tmp_path: Path) -> None:
    store = store_with(
        tmp_path,
        a=[("user", "error: connection refused (ECONNREFUSED) at host:8080")],
        b=[("user", "refused connection")],
    )
    with SearchIndex(store) as index:
        assert found(index, '"connection refused"') == [("a", 1)]
        assert sorted(found(index, "connection refused")) == [("a", 1), ("b", 1)]
        assert found(index, "ECONN*") == [("a", 1)]
        assert found(index, "host:8080") == [("a", 1)]
        assert sorted(found(index, "ECONNREFUSED OR refused")) == [("a", 1), ("b", 1)]
        assert found(index, "ECONNREFUSED OR") == [("a", 1)]
        assert found(index, 'NEAR( AND "unbalanced') == []
        with pytest.raises(UsageError):
            index.search("  ** ")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_query_is_either_refused_or_valid_fts(text: str) -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(c)")
    db.execute("INSERT INTO t VALUES ('some text')")
    try:
        query = fts_query(text)
    except UsageError:
        return
    db.execute("SELECT * FROM t WHERE t MATCH ?", (query,)).fetchall()


def test_follows_appends_clears_deletes_and_renames(tmp_path: Path) -> None:
    store = store_with(tmp_path, a=[("user", "first words")], b=[("user", "other words")])
    with SearchIndex(store) as index:
        assert found(index, "words") == [("a", 1), ("b", 1)] or found(index, "words") == [
            ("b", 1),
            ("a", 1),
        ]
        store.append("a", msg("assistant", "second banana"))
        assert found(index, "banana") == [("a", 2)]
        store.append("a", {"t": "truncate", "keep": 0})
        assert found(index, "banana") == []
        store.rename("b", "c")
        assert found(index, "other") == [("c", 1)]
        store.delete("c")
        assert found(index, "other") == []
        assert index.sync().indexed == 0


def test_rebuilt_when_the_index_file_is_deleted(tmp_path: Path) -> None:
    store = store_with(tmp_path, a=[("user", "kumquat")])
    with SearchIndex(store) as index:
        assert found(index, "kumquat") == [("a", 1)]
    (tmp_path / INDEX_FILE).unlink()
    with SearchIndex(store) as index:
        assert index.sync().indexed == 1
        assert found(index, "kumquat") == [("a", 1)]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "zeroed"])
def test_rebuilt_when_the_index_is_corrupt(tmp_path: Path, damage: str) -> None:
    store = store_with(tmp_path, a=[("user", "kumquat " * 500)], b=[("user", "quince")])
    with SearchIndex(store) as index:
        assert found(index, "quince") == [("b", 1)]
    path = tmp_path / INDEX_FILE
    raw = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"this is not a database" * 100)
    elif damage == "truncated":
        path.write_bytes(raw[: len(raw) // 3])
    else:
        path.write_bytes(raw[:4096] + b"\0" * (len(raw) - 4096))
    with SearchIndex(store) as index:
        assert found(index, "quince") == [("b", 1)]
        assert found(index, "kumquat") == [("a", 1)]


def test_picks_up_a_session_written_by_another_process(tmp_path: Path) -> None:
    store = store_with(tmp_path, a=[("user", "first")])
    with SearchIndex(store) as index:
        assert found(index, "zebra") == []
        code = (
            "import sys\n"
            "from pathlib import Path\n"
            "from copilot_repl.history.store import Store\n"
            "from copilot_repl.history.messages import SessionData\n"
            "s = Store(Path(sys.argv[1]))\n"
            "s.append('a', {'t': 'msg', 'role': 'assistant', 'content': 'a zebra', 'ts': 2.0})\n"
            "s.create(SessionData(name='new', model='openai:x'))\n"
            "s.append('new', {'t': 'msg', 'role': 'user', 'content': 'zebra crossing'})\n"
        )
        subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, cwd=ROOT)
        assert sorted(found(index, "zebra")) == [("a", 2), ("new", 1)]


def test_two_indexes_over_one_dir_agree(tmp_path: Path) -> None:
    store = store_with(tmp_path, a=[("user", "apple")])
    with SearchIndex(store) as one, SearchIndex(Store(tmp_path)) as two:
        assert found(one, "apple") == [("a", 1)]
        store.append("a", msg("user", "apple pie"))
        assert found(two, "apple pie") == [("a", 2)]
        assert found(one, "pie") == [("a", 2)]


def test_forget_leaves_no_trace_of_the_text_in_the_index_file(tmp_path: Path) -> None:
    secret = "sk-proj-Zq8XwV3mTtB9yRk2LpQ7"
    filler = [("assistant", f"ordinary reply number {i} " * 20) for i in range(200)]
    store = store_with(tmp_path, a=[("user", f"my key is {secret}")], b=filler)
    with SearchIndex(store) as index:
        assert found(index, secret) == [("a", 1)]
        assert secret.encode() in (tmp_path / INDEX_FILE).read_bytes()
        store.delete("a")
        index.forget("a")
        assert found(index, "ordinary")
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(INDEX_FILE)]
    assert all(secret.encode() not in p.read_bytes() for p in leftovers)
    assert secret[3:15].lower().encode() not in (tmp_path / INDEX_FILE).read_bytes().lower()


def test_index_file_is_private(tmp_path: Path) -> None:
    store = store_with(tmp_path, a=[("user", "x")])
    with SearchIndex(store) as index:
        index.sync()
    assert os.stat(tmp_path / INDEX_FILE).st_mode & 0o077 == 0


def test_since_ago() -> None:
    assert since_ago("2h", now=10_000.0) == 10_000.0 - 7200
    assert since_ago("3d", now=1e6) == 1e6 - 3 * 86400
    assert since_ago("2024-01-02") > since_ago("2024-01-01")
    with pytest.raises(UsageError):
        since_ago("yesterday")


def test_a_prefix_with_many_words_and_no_duplicates_after_reindexing(tmp_path: Path) -> None:
    words = " ".join(f"zeta{i:03d}" for i in range(100))
    store = store_with(tmp_path, a=[("user", "zeta001 only")], b=[("user", words)])
    with SearchIndex(store) as index:
        assert sorted(found(index, "zeta*")) == [("a", 1), ("b", 1)]  # > MAX_EXPANSION words
        assert sorted(found(index, "Zeta00*")) == [("a", 1), ("b", 1)]  # expanded
        assert found(index, "zetb*") == []
        for i in range(3):
            store.append("a", msg("assistant", f"reply {i}"))
            assert found(index, "only") == [("a", 1)]
            assert found(index, "zeta001", session="a") == [("a", 1)]
        assert found(index, "reply", session="b") == []
        assert found(index, "reply", session="nope") == []


# -- round three: an index that is a directory; deletes leave no text ----------------
def test_an_index_that_is_a_directory_is_one_line_not_an_internal_error(
    home: Path, tmp_path: Path
) -> None:
    from conftest import run_cli

    store_with(home, a=[("user", "kumquat")])
    (home / INDEX_FILE).mkdir()
    r = run_cli(["--base-url", "http://127.0.0.1:9/v1"], ":find kumquat\n")
    assert "internal error" not in r.err and "Traceback" not in r.err, r.err
    assert f"the search index {home / INDEX_FILE} is a directory" in r.err
    assert r.err.count("copilot-repl: error:") == 1 and r.code == 1
    assert (home / INDEX_FILE).is_dir()  # never removed


def test_sessions_rm_and_delete_session_leave_no_text_in_the_index(home: Path) -> None:
    import asyncio

    from conftest import run_cli

    from copilot_repl.api.client import CopilotClient

    secret, other = "sk-proj-Zq8XwV3mTtB9yRk2LpQ7", "ghp_Yt6Wq1Lm9Kd3Rv8Hs2Jx5"
    filler = [("assistant", f"ordinary reply number {i} " * 20) for i in range(200)]
    store = store_with(home, a=[("user", f"key {secret}")], b=[("user", f"key {other}")], c=filler)
    with SearchIndex(store) as index:
        assert found(index, secret) == [("a", 1)] and found(index, other) == [("b", 1)]
    # `sessions rm` moves to the trash (restorable, so still found by :find
    # --trash); --purge deletes for good, and its text leaves the index too
    assert run_cli(["sessions", "rm", "a", "--purge"]).code == 0

    async def delete() -> None:
        client = CopilotClient({"base_url": "http://127.0.0.1:9/v1"})
        await client.start()
        try:
            await client.delete_session("b")
        finally:
            await client.stop()

    asyncio.run(delete())
    raw = (home / INDEX_FILE).read_bytes().lower()
    assert secret[3:15].lower().encode() not in raw
    assert other[4:16].lower().encode() not in raw
    with SearchIndex(Store(home)) as index:
        assert found(index, "ordinary")


def test_a_huge_limit_or_since_is_not_an_internal_error(home: Path) -> None:
    from conftest import run_cli

    store_with(home, a=[("user", "kumquat")])
    script = (
        ":find kumquat --limit 99999999999999999999999\n"
        ":find kumquat --since 99999999999999999999d\n"
        ":find kumquat --limit 9223372036854775808 --since 9999999999999w\n"
    )
    r = run_cli(["--base-url", "http://127.0.0.1:9/v1"], script)
    assert "internal error" not in r.err and r.code == 0, r.err
    assert r.out.count("a@1") == 3


# -- incremental sync (issue 26): a session that only grew is written in part --


def _rows(index_path: Path, session: str) -> dict[int, int]:
    """rowid → message number of a session's rows, read from the index file."""
    db = sqlite3.connect(index_path)
    try:
        rows = db.execute("SELECT rowid, n FROM msgs WHERE session = ?", (session,)).fetchall()
    finally:
        db.close()
    return {int(r[0]): int(r[1]) for r in rows}


def _everything(index: SearchIndex, words: list[str], sessions: list[str]) -> list[object]:
    """All the index answers for ``words``, whole and per session."""
    out: list[object] = []
    for word in words:
        for session in [None, *sessions]:
            hits = index.search(word, session=session, limit=10_000)
            out.append(sorted((h.session, h.n, h.role, h.model, h.ts, h.snippet) for h in hits))
    return out


def test_a_turn_writes_only_its_messages_to_the_index(tmp_path: Path) -> None:
    talk = [("user" if i % 2 == 0 else "assistant", f"message {i} about ferns") for i in range(300)]
    store = store_with(tmp_path, a=talk, b=[("user", "ferns elsewhere")])
    with SearchIndex(store) as index:
        assert len(found(index, "ferns", limit=1000)) == 301
        before = _rows(tmp_path / INDEX_FILE, "a")
        store.append("a", msg("user", "one more question about moss", ts=9000.0))
        store.append("a", msg("assistant", "moss answer", ts=9001.0))
        report = index.sync()
        after = _rows(tmp_path / INDEX_FILE, "a")
        # the 300 rows indexed first are left as they were: only two were written
        assert {k: v for k, v in after.items() if k in before} == before
        assert sorted(after.values())[-2:] == [301, 302] and len(after) == 302
        assert (report.indexed, report.rows, report.full) == (1, 2, 0)
        assert found(index, "moss", session="a") == [("a", 301), ("a", 302)]
        assert found(index, "moss", session="b") == []
        assert found(index, "ferns", session="b") == [("b", 1)]


def test_clear_retry_model_change_and_rewrite_reindex_the_whole_session(tmp_path: Path) -> None:
    words = ["alpha", "beta", "gamma", "reply"]
    store = store_with(
        tmp_path,
        a=[("user", "alpha beta"), ("assistant", "reply gamma"), ("user", "beta")],
        b=[("user", "alpha")],
    )
    with SearchIndex(store) as index:
        index.sync()

        def check(full: int) -> None:
            report = index.sync()
            assert report.full == full
            with SearchIndex(store, tmp_path / "fresh.db") as fresh:
                assert _everything(index, words, ["a", "b"]) == _everything(
                    fresh, words, ["a", "b"]
                )

        # :retry: the last message taken away, another in its place (as many messages)
        store.truncate(store.load("a"), 2)
        store.append("a", msg("user", "gamma instead"))
        check(full=1)
        assert found(index, "beta", session="a") == [("a", 1)]
        # :clear, then as many messages as before and the same last one
        store.truncate(store.load("a"), 0)
        store.append("a", *(msg("user", t) for t in ["reply", "reply", "gamma instead"]))
        check(full=1)
        assert sorted(found(index, "reply")) == [("a", 1), ("a", 2)]
        # a model change: messages without their own model take the session's
        store.append("a", {"t": "meta", "model": "ollama:llama3.2"})
        check(full=1)
        assert found(index, "gamma", model="llama3.2") == [("a", 3)]
        # a compaction: no message changes, none written
        loaded = store.load("a")
        summary = compact.make(loaded.data.messages, 2, "a summary", model="m", ts=5.0)
        store.append("a", summary.record())
        assert index.sync().rows == 0
        check(full=0)
        # the file rewritten in place with other text (same inode, larger)
        path = store.path("b")
        lines = path.read_bytes().splitlines(keepends=True)
        with path.open("r+b") as f:
            f.write(lines[0] + b'{"t":"msg","role":"user","content":"beta beta beta","ts":1.0}\n')
            f.write(b'{"t":"msg","role":"user","content":"gamma","ts":2.0}\n')
        check(full=1)
        assert found(index, "alpha", session="b") == []
        # replaced by another file (an import or a fork over it): a new header
        store.delete("b")
        store.create(SessionData(name="b", model="openai:gpt-4o-mini", created=1.0))
        store.append("b", msg("user", "beta"), msg("user", "gamma"))
        check(full=1)


def test_another_process_appending_is_indexed_incrementally(tmp_path: Path) -> None:
    store = store_with(tmp_path, a=[("user", "first"), ("assistant", "second")])
    with SearchIndex(store) as index:
        index.sync()
        code = (
            "import sys\n"
            "from pathlib import Path\n"
            "from copilot_repl.history.store import Store\n"
            "s = Store(Path(sys.argv[1]))\n"
            "s.append('a', {'t': 'msg', 'role': 'user', 'content': 'a walrus', 'ts': 2.0})\n"
        )
        subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, cwd=ROOT)
        report = index.sync()
        assert (report.rows, report.full) == (1, 0)
        assert found(index, "walrus") == [("a", 3)]


def test_turns_in_turn_in_two_sessions_keep_the_session_filter_right(tmp_path: Path) -> None:
    store = store_with(tmp_path, a=[("user", "start")], b=[("user", "start")])
    with SearchIndex(store) as index:
        for i in range(2 * search.MAX_SPANS + 3):
            for name in ("a", "b"):
                store.append(name, msg("user", f"lichen {name} {i}"))
                index.sync()
        n = 2 * search.MAX_SPANS + 3
        for name in ("a", "b"):
            assert sorted(found(index, "lichen", session=name, limit=1000)) == [
                (name, k) for k in range(2, n + 2)
            ]
        db = sqlite3.connect(tmp_path / INDEX_FILE)
        spans = db.execute("SELECT name, count(*) FROM spans GROUP BY name").fetchall()
        db.close()
        assert all(count <= search.MAX_SPANS for _, count in spans)


_OP = st.one_of(
    st.tuples(
        st.just("append"),
        st.sampled_from(["a", "b"]),
        st.lists(st.sampled_from(["oak", "elm", "ash"]), min_size=1, max_size=3),
    ),
    st.tuples(st.just("truncate"), st.sampled_from(["a", "b"]), st.integers(0, 4)),
    st.tuples(st.just("model"), st.sampled_from(["a", "b"]), st.sampled_from(["m:one", "m:two"])),
    st.tuples(st.just("retry"), st.sampled_from(["a", "b"]), st.just(0)),
    st.tuples(st.just("sync"), st.just("a"), st.just(0)),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(_OP, max_size=14))
def test_incremental_index_answers_as_a_fresh_full_index(ops: list[tuple[str, str, Any]]) -> None:
    words = ["oak", "elm", "ash"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = store_with(root, a=[("user", "oak")], b=[("assistant", "elm")])
        with SearchIndex(store) as index:
            index.sync()
            for i, (op, name, arg) in enumerate(ops):
                if op == "append":
                    role = "user" if i % 2 else "assistant"
                    store.append(name, msg(role, " ".join(arg), ts=float(i)))
                elif op == "truncate":
                    loaded = store.load(name)
                    store.truncate(loaded, min(arg, len(loaded.data.messages)))
                elif op == "retry":  # the last reply again, word for word
                    loaded = store.load(name)
                    if loaded.data.messages:
                        last = loaded.data.messages[-1]
                        store.truncate(loaded, len(loaded.data.messages) - 1)
                        store.append(name, msg(last.role, last.content, ts=float(i)))
                elif op == "model":
                    store.append(name, {"t": "meta", "model": arg})
                else:
                    index.sync()
            got = _everything(index, words, ["a", "b"])
        with SearchIndex(store, root / "fresh.db") as fresh:
            assert got == _everything(fresh, words, ["a", "b"])


KILLED_SYNC = """\
import os, sys
from pathlib import Path
from copilot_repl.history.search import SearchIndex
from copilot_repl.history.store import Store
index = SearchIndex(Store(Path(sys.argv[1])))
left = [int(sys.argv[2])]
def tick():
    left[0] -= 1
    if left[0] == 0:
        os._exit(9)  # killed: no rollback, no cleanup; the journal stays
    return 0
index._conn().set_progress_handler(tick, 200)
index.sync()
"""


@pytest.mark.parametrize("after", [2, 30, 100])
def test_a_sync_killed_half_way_is_repaired_by_the_next(tmp_path: Path, after: int) -> None:
    store = store_with(tmp_path, a=[("user", f"birch {i}") for i in range(40)])
    words = ["birch", "willow", "alder"]
    with SearchIndex(store) as index:
        index.sync()
    store.append("a", *(msg("assistant", f"willow {i}") for i in range(300)))
    store.create(SessionData(name="b", model="openai:gpt-4o-mini"))
    store.append("b", *(msg("user", f"alder {i}") for i in range(300)))
    done = subprocess.run(
        [sys.executable, "-c", KILLED_SYNC, str(tmp_path), str(after)], cwd=ROOT, check=False
    )
    assert done.returncode == 9  # it died inside the sync
    with SearchIndex(store) as index, SearchIndex(store, tmp_path / "fresh.db") as fresh:
        assert _everything(index, words, ["a", "b"]) == _everything(fresh, words, ["a", "b"])
        assert len(index.search("willow", limit=1000)) == 300
