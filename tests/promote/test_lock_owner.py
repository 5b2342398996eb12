"""A pipeline lock's owner as its file stores it: what counts as no lock, as nobody, as stale."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from dataclasses import replace
from datetime import timedelta

import pytest

from pipeline.promote.lock import LockOwner, is_stale, lock_owner, read_owner

DAY = timedelta(days=1)


@pytest.mark.parametrize("raw", [None, b"", ""])
def test_no_file_or_an_empty_one_is_no_lock(raw: bytes | str | None) -> None:
    assert read_owner(raw) is None


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"'])
def test_an_unreadable_file_names_nobody_and_is_stale(raw: bytes) -> None:
    owner = read_owner(raw)
    assert owner == LockOwner()
    assert is_stale(owner, DAY)


def test_an_owner_round_trips_and_a_pid_that_is_no_number_is_none() -> None:
    mine = lock_owner("t0k")
    assert read_owner(json.dumps(mine.to_json())) == mine
    odd = read_owner(json.dumps({**mine.to_json(), "pid": "12", "extra": 1}))
    assert odd == replace(mine, pid=None)


def test_staleness_follows_the_process_on_this_host_and_the_age_elsewhere() -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    here = lock_owner()
    assert is_stale(replace(here, pid=gone.pid), DAY)
    assert not is_stale(replace(here, pid=os.getpid()), DAY)
    elsewhere = replace(here, host=socket.gethostname() + "-other")
    assert not is_stale(elsewhere, DAY)
    assert is_stale(replace(elsewhere, started="2001-01-01T00:00:00+00:00"), DAY)
    assert "host " + socket.gethostname() in here.who()
