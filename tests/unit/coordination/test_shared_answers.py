"""Cached Halo answers and in-flight lookups shared by instances: in-process and Redis."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.support.coordination import Coordination


class Upstream:
    """Counts the calls that reach "Halo" and answers after ``delay`` seconds."""

    def __init__(self, delay: float = 0.1) -> None:
        self.delay = delay
        self.calls: list[str] = []
        self.fail_next = 0

    def loader(self, key: str) -> Any:
        async def load() -> bytes:
            self.calls.append(key)
            await asyncio.sleep(self.delay)
            if self.fail_next:
                self.fail_next -= 1
                raise RuntimeError("Halo is down")
            return json.dumps({"player": key, "csr": 1500}).encode()

        return load


def decode(body: bytes) -> dict[str, Any]:
    return json.loads(body)


async def test_concurrent_identical_lookups_make_one_upstream_call(
    coordination: Coordination,
) -> None:
    upstream = Upstream()
    first, second = coordination.fetcher(), coordination.fetcher()
    answers = await asyncio.gather(
        *(
            fetcher.get_decoded("csr/Spartan", 30.0, upstream.loader("Spartan"), decode)
            for fetcher in [first, second] * 10
        )
    )
    assert upstream.calls == ["Spartan"]
    assert all(answer == {"player": "Spartan", "csr": 1500} for answer in answers)
    # A third instance asking later is answered from the shared cache.
    third = coordination.fetcher()
    again = await third.get_decoded("csr/Spartan", 30.0, upstream.loader("Spartan"), decode)
    assert again["player"] == "Spartan"
    assert upstream.calls == ["Spartan"]


async def test_different_players_each_get_their_call(coordination: Coordination) -> None:
    upstream = Upstream()
    first, second = coordination.fetcher(), coordination.fetcher()
    await asyncio.gather(
        first.get_decoded("a", 30.0, upstream.loader("a"), decode),
        second.get_decoded("b", 30.0, upstream.loader("b"), decode),
        second.get_decoded("a", 30.0, upstream.loader("a"), decode),
    )
    assert sorted(upstream.calls) == ["a", "b"]


async def test_a_failed_call_is_not_cached(coordination: Coordination) -> None:
    upstream = Upstream(delay=0.05)
    upstream.fail_next = 1
    fetcher = coordination.fetcher()
    with pytest.raises(RuntimeError):
        await fetcher.get_decoded("x", 30.0, upstream.loader("x"), decode)
    other = coordination.fetcher()
    answer = await other.get_decoded("x", 30.0, upstream.loader("x"), decode)
    assert answer["player"] == "x"
    assert upstream.calls == ["x", "x"]


async def test_when_the_first_instance_fails_another_one_loads(
    coordination: Coordination,
) -> None:
    upstream = Upstream(delay=0.1)
    upstream.fail_next = 1
    first, second = coordination.fetcher(), coordination.fetcher()
    failing = asyncio.create_task(first.get_decoded("y", 30.0, upstream.loader("y"), decode))
    await asyncio.sleep(0.02)
    waiting = asyncio.create_task(second.get_decoded("y", 30.0, upstream.loader("y"), decode))
    results = await asyncio.gather(failing, waiting, return_exceptions=True)
    assert isinstance(results[0], RuntimeError)
    if coordination.redis:
        # The other instance waited for the answer, saw the call fail and loaded it itself.
        assert results[1] == {"player": "y", "csr": 1500}
        assert upstream.calls == ["y", "y"]
    else:
        # One process: the waiter shared the failed call.
        assert isinstance(results[1], RuntimeError)
        assert upstream.calls == ["y"]


async def test_answers_expire_after_their_ttl(coordination: Coordination) -> None:
    upstream = Upstream(delay=0.0)
    first, second = coordination.fetcher(), coordination.fetcher()
    await first.get_decoded("z", 0.3, upstream.loader("z"), decode)
    await second.get_decoded("z", 0.3, upstream.loader("z"), decode)
    assert upstream.calls == ["z"]
    await asyncio.sleep(0.4)
    await first.get_decoded("z", 0.3, upstream.loader("z"), decode)
    await second.get_decoded("z", 0.3, upstream.loader("z"), decode)
    assert upstream.calls == ["z", "z"]


async def test_a_copy_read_from_another_instance_expires_with_the_original(
    coordination: Coordination,
) -> None:
    upstream = Upstream(delay=0.0)
    first, second = coordination.fetcher(), coordination.fetcher()
    await first.get_decoded("w", 0.5, upstream.loader("w"), decode)
    await asyncio.sleep(0.3)
    await second.get_decoded("w", 0.5, upstream.loader("w"), decode)  # 0.2 s left
    assert upstream.calls == ["w"]
    await asyncio.sleep(0.3)  # past the first answer's 0.5 s, within the copy's own 0.5 s
    await second.get_decoded("w", 0.5, upstream.loader("w"), decode)
    assert upstream.calls == ["w", "w"]


async def test_an_unreadable_answer_is_not_shared(coordination: Coordination) -> None:
    bodies = [b"<html>gateway error</html>", json.dumps({"player": "v"}).encode()]
    calls: list[bytes] = []

    async def load() -> bytes:
        calls.append(bodies[len(calls)])
        return calls[-1]

    first, second = coordination.fetcher(), coordination.fetcher()
    with pytest.raises(json.JSONDecodeError):
        await first.get_decoded("v", 30.0, load, decode)
    assert await second.get_decoded("v", 30.0, load, decode) == {"player": "v"}
    assert len(calls) == 2
