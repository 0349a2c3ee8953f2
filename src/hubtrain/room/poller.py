"""Read the hub every few seconds, politely, and keep the latest room.

One poll is one paged request for the user list, then one small request per
*running* server for its progress record, at most `workers` at a time, each
conditional (`If-None-Match`), so an unchanged record costs a 304 and no body.
Stopped servers are not asked: the room keeps what it last read from them.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from hubtrain.room.grid import Learner, Rules, build, server_state
from hubtrain.room.hubreader import Reader, RecordRead, RoomError
from hubtrain.room.tasks import RoomTask

__all__ = ["Poller"]

NOTES = {
    "refused": "this learner's server refused the token (403): see 'Run the room'",
    "unreachable": "this learner's server did not answer; showing what it said last",
}


class Poller:
    """The room, refreshed by `run()` in a thread until `stop()`."""

    def __init__(
        self,
        reader: Reader,
        tasks: list[RoomTask],
        rules: Rules,
        interval: float = 10.0,
        workers: int = 4,
    ) -> None:
        self.reader = reader
        self.tasks = tasks
        self.rules = rules
        self.interval = interval
        self.polls = 0
        self.error = ""
        self._learners: dict[str, Learner] = {}
        self._etags: dict[str, str] = {}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="room-read")
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._room = build([], tasks, rules, time.time())

    @property
    def room(self) -> dict[str, Any]:
        with self._lock:
            return {**self._room, "error": self.error}

    def poll(self) -> None:
        """Read the hub once and rebuild the room."""
        now = time.time()
        listed = {}
        for user in self.reader.learners():
            if user.get("kind", "user") != "user" or not user.get("name"):
                continue
            learner = self._learners.get(user["name"]) or Learner(user["name"], first_seen=now)
            learner.server, learner.hub_activity, learner.url = server_state(user)
            listed[learner.name] = learner
        running = [learner for learner in listed.values() if learner.server == "running"]
        reads = self._pool.map(
            lambda learner: self.reader.record(learner.url, self._etags.get(learner.name, "")),
            running,
        )
        for learner, read in zip(running, reads, strict=True):
            self._apply(learner, read)
        room = build(list(listed.values()), self.tasks, self.rules, time.time())
        with self._lock:
            self._learners = listed
            self._room = room
            self.polls += 1

    def _apply(self, learner: Learner, read: RecordRead) -> None:
        learner.note = NOTES.get(read.status, "")
        if read.status == "ok" and read.data is not None:
            learner.record = read.data
            self._etags[learner.name] = read.etag
        elif read.status == "none":
            learner.record = {}
            self._etags.pop(learner.name, None)

    def run(self) -> None:
        """Poll every `interval` seconds (from the start of one poll to the next)."""
        try:
            while not self._stopped.is_set():
                started = time.monotonic()
                try:
                    self.poll()
                    self.error = ""
                except RoomError as exc:
                    self.error = str(exc)
                self._stopped.wait(max(0.0, self.interval - (time.monotonic() - started)))
        finally:
            self.close()

    def stop(self) -> None:
        """Ask `run()` to end after the poll under way (it then closes the pool)."""
        self._stopped.set()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
