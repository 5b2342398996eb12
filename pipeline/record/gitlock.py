"""The pipeline lock in the git state (moved from pipeline.record.state)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from pipeline.promote.lock import LockHeldError, LockOwner, is_stale, lock_owner, read_owner
from pipeline.promote.state import dump
from pipeline.record.refs import ATTEMPTS, COMMIT_PREFIX, STATE_REF, backoff

if TYPE_CHECKING:
    from pipeline.record.store import GitStore


class GitLock:
    """The pipeline lock as ``locks/<pipeline>.json`` in the state: taken and released by a
    compare-and-swap push, so two runners on two machines cannot both hold it."""

    def __init__(self, state: GitStore, pipeline: str, stale_after: timedelta) -> None:
        self.state = state
        self.pipeline = pipeline
        self.path = f"locks/{pipeline}.json"
        self.stale_after = stale_after
        self.taken_over: LockOwner | None = None
        self.token = uuid.uuid4().hex

    @property
    def where(self) -> str:
        return f"{self.state.remote}:{STATE_REF}:{self.path}"

    def current(self) -> LockOwner | None:
        return read_owner(self.state.read(self.path))

    def acquire(self) -> None:
        owner = lock_owner(self.token)
        for attempt in range(ATTEMPTS):
            if attempt:
                backoff(attempt)
            self.state.sync()
            current = self.current()
            if current is not None and not is_stale(current, self.stale_after):
                raise LockHeldError(self.where, current)
            self.taken_over = current
            message = f"{COMMIT_PREFIX}lock {self.pipeline} ({owner.host} pid {owner.pid})"
            if self.state.write({self.path: dump(owner.to_json()).encode()}, message):
                self.state.held[self.pipeline] = self.token
                return
        raise LockHeldError(self.where, self.current() or LockOwner())

    def release(self) -> None:
        if self.state.held.pop(self.pipeline, None) is None:
            return
        for attempt in range(ATTEMPTS):
            current = self.current()
            if current is None or current.token != self.token:
                return  # taken over meanwhile: not ours to remove
            if self.state.write({self.path: None}, f"{COMMIT_PREFIX}unlock {self.pipeline}"):
                return
            backoff(attempt)
            self.state.sync()
