"""Event ids (``api/ids.py``): what ``uuid.uuid4()`` gives a program, made
cheaply: random, unique, version 4 of the RFC 4122 variant; a forked child
never repeats its parent's."""

from __future__ import annotations

import copy
import os
import pickle
import uuid

from copilot_repl.api import ids
from copilot_repl.api.events import AssistantMessageDeltaData, SessionEvent, SessionEventType


def test_ids_are_version_4_uuids_that_round_trip_and_never_repeat() -> None:
    made = [ids.new_id() for _ in range(3 * ids.BATCH + 7)]  # across several draws
    assert len({u.int for u in made}) == len(made)
    for u in made:
        assert type(u) is uuid.UUID
        assert u.version == 4 and u.variant == uuid.RFC_4122
        assert uuid.UUID(str(u)) == u and hash(uuid.UUID(str(u))) == hash(u)
        assert u.is_safe is uuid.SafeUUID.unknown  # as uuid4()'s
    assert pickle.loads(pickle.dumps(made[0])) == made[0] == copy.deepcopy(made[0])
    # the random bits vary: no fixed pattern beyond the version and variant
    assert len({u.int >> 80 for u in made}) > len(made) // 2


def test_each_event_gets_its_own_id() -> None:
    data = AssistantMessageDeltaData("x", "r")
    events = [SessionEvent(SessionEventType.ASSISTANT_MESSAGE_DELTA, data) for _ in range(600)]
    assert len({e.id for e in events}) == 600
    assert all(e.id.version == 4 for e in events)


def test_a_forked_child_does_not_repeat_the_parent_s_ids() -> None:
    ids.new_id()  # the pool holds ids drawn before the fork
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, as hex, then out
        try:
            os.write(write, "".join(ids.new_id().hex for _ in range(50)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        text = f.read()
    os.waitpid(pid, 0)
    child = {text[i : i + 32] for i in range(0, len(text), 32)}
    parent = {ids.new_id().hex for _ in range(50)}
    assert len(child) == 50 and not child & parent
