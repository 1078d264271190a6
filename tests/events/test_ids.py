"""events.ids: 26-character ULIDs that are unique and sort in the order they were made."""

from __future__ import annotations

import itertools
import os
import re
import threading
import time

from events.ids import new_id, new_ids, new_prefixed_id

ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
"""Crockford base32: digits and capitals without I, L, O, U."""

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def strictly_increasing(ids: list[str]) -> bool:
    return all(a < b for a, b in itertools.pairwise(ids))


def _millis(ulid: str) -> int:
    value = 0
    for char in ulid[:10]:
        value = value * 32 + _CROCKFORD.index(char)
    return value


def test_new_id_is_26_crockford_base32_characters() -> None:
    for _ in range(100):
        assert ULID.fullmatch(new_id())


def test_new_id_starts_with_the_current_unix_millisecond() -> None:
    before = time.time_ns() // 1_000_000
    made = new_id()
    after = time.time_ns() // 1_000_000
    assert before <= _millis(made) <= after


def test_ids_made_one_after_another_are_unique_and_strictly_increasing() -> None:
    # Thousands of ids fall within one millisecond: the random part must count up.
    ids = [new_id() for _ in range(20_000)]
    assert strictly_increasing(ids)


def test_new_ids_gives_count_unique_increasing_ids() -> None:
    ids = new_ids(5000)
    assert len(ids) == 5000
    assert all(ULID.fullmatch(i) for i in ids)
    assert strictly_increasing(ids)


def test_new_ids_of_zero_is_empty() -> None:
    assert new_ids(0) == []


def test_new_id_and_new_ids_interleaved_keep_increasing() -> None:
    made: list[str] = []
    for n in range(500):
        made.append(new_id())
        made.extend(new_ids(n % 5 + 1))
    assert strictly_increasing(made)


def test_ids_made_by_many_threads_are_unique() -> None:
    made: list[list[str]] = [[] for _ in range(4)]

    def make(into: list[str]) -> None:
        for _ in range(2000):
            into.append(new_id())
        into.extend(new_ids(2000))

    threads = [threading.Thread(target=make, args=(into,)) for into in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [i for ids in made for i in ids]
    assert len(set(everything)) == len(everything) == 4 * 4000
    for ids in made:  # each thread's own ids still come out in order
        assert ids == sorted(ids)


def test_new_prefixed_id_is_prefix_dash_lowercase_ulid_and_sorts_like_it() -> None:
    first, second = new_prefixed_id("task"), new_prefixed_id("task")
    prefix, _, ulid = first.partition("-")
    assert prefix == "task"
    assert ULID.fullmatch(ulid.upper())
    assert ulid == ulid.lower()
    assert first < second


def test_a_forked_child_draws_its_own_random_bits() -> None:
    new_id()  # the parent's pool of random bytes is filled
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a new millisecond, so fresh random bits
        time.sleep(0.002)
        os.write(write, new_id().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    time.sleep(0.002)
    parent = new_id()
    assert child[10:] != parent[10:]  # not the same bytes of one pool
