"""Each update once, one chat at a time — within a process and across replicas sharing Redis."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiogram import Bot, Router
from aiogram.types import Message, Update

from bot.dispatcher import ChatOrderedDispatcher
from bot.update_gate import LocalUpdateGate, RedisUpdateGate, UpdateBusy


def gate_pair(redis, **kwargs) -> tuple[RedisUpdateGate, RedisUpdateGate]:
    """Two replicas' gates over one Redis, in a namespace of this test's own."""
    namespace = uuid.uuid4().hex
    return RedisUpdateGate(redis, namespace=namespace, **kwargs), RedisUpdateGate(redis, namespace=namespace, **kwargs)


async def test_an_update_delivered_to_two_replicas_is_handled_once(redis):
    first, second = gate_pair(redis)
    handled = []

    async def handle(gate, name):
        async with gate.hold(101, "42") as fresh:
            if fresh:
                handled.append(name)
                await asyncio.sleep(0.05)

    await asyncio.gather(handle(first, "one"), handle(second, "two"))
    assert len(handled) == 1
    async with second.hold(101, "42") as fresh:  # and a day later, still known
        assert not fresh


async def test_a_chats_updates_wait_for_each_other_across_replicas(redis):
    first, second = gate_pair(redis)
    timeline = []

    async def handle(gate, update_id):
        async with gate.hold(update_id, "7") as fresh:
            assert fresh
            timeline.append(("in", update_id))
            await asyncio.sleep(0.1)
            timeline.append(("out", update_id))

    await asyncio.gather(handle(first, 1), handle(second, 2))
    assert [kind for kind, _ in timeline] == ["in", "out", "in", "out"]  # never both inside


async def test_other_chats_go_side_by_side(redis):
    first, second = gate_pair(redis)
    inside = []

    async def handle(gate, update_id, chat):
        async with gate.hold(update_id, chat):
            inside.append(update_id)
            await asyncio.sleep(0.2)

    started = asyncio.get_running_loop().time()
    await asyncio.gather(handle(first, 1, "a"), handle(second, 2, "b"))
    assert asyncio.get_running_loop().time() - started < 0.35


async def test_a_replica_that_died_holding_a_chat_holds_it_only_for_the_lease(redis):
    first, second = gate_pair(redis, lease=1.0, wait=0.3)
    await redis.set(first.prefix + "lock:9", b"dead-replica", px=1000)  # taken, never renewed nor released
    with pytest.raises(UpdateBusy):
        async with second.hold(5, "9"):
            pass
    await asyncio.sleep(1.0)
    async with second.hold(5, "9") as fresh:
        assert fresh  # the dead replica never marked it done: handled here now


async def test_a_long_update_keeps_its_chat_past_the_lease(redis):
    first, second = gate_pair(redis, lease=0.6, wait=0.3)
    async with first.hold(1, "3") as fresh:
        assert fresh
        await asyncio.sleep(1.0)  # longer than the lease: renewed meanwhile
        with pytest.raises(UpdateBusy):
            async with second.hold(2, "3"):
                pass


async def test_a_handler_that_failed_is_not_handled_again_but_a_stop_is(redis):
    first, second = gate_pair(redis)
    with pytest.raises(RuntimeError):
        async with first.hold(1, "c") as fresh:
            assert fresh
            raise RuntimeError("a bug would fail again")
    async with second.hold(1, "c") as fresh:
        assert not fresh
    with pytest.raises(asyncio.CancelledError):
        async with first.hold(2, "c"):
            raise asyncio.CancelledError  # the replica stopped before the update finished
    async with second.hold(2, "c") as fresh:
        assert fresh


async def test_one_process_drops_an_update_delivered_again_and_forgets_old_ones():
    gate = LocalUpdateGate(remembered=3)
    for update_id in (1, 2, 3):
        async with gate.hold(update_id, "x") as fresh:
            assert fresh
    async with gate.hold(2, "x") as fresh:
        assert not fresh
    async with gate.hold(4, "x"):
        pass
    async with gate.hold(1, "x") as fresh:
        assert fresh  # beyond what is remembered


def text_update(update_id: int, chat_id: int, text: str) -> Update:
    return Update.model_validate({
        "update_id": update_id,
        "message": {"message_id": update_id, "date": 0, "text": text,
                    "chat": {"id": chat_id, "type": "private"},
                    "from": {"id": chat_id, "is_bot": False, "first_name": "Anna"}},
    })


async def test_two_dispatchers_on_one_redis_handle_a_doubled_update_once(redis):
    """The dispatcher as the webhook drives it: the same update fed to two replicas at once."""
    handled: list[str] = []
    namespace = uuid.uuid4().hex
    bot = Bot("123456:TEST")

    def replica(name: str) -> ChatOrderedDispatcher:
        router = Router()

        @router.message()
        async def record(message: Message) -> None:
            handled.append(f"{name}:{message.text}")
            await asyncio.sleep(0.05)

        dispatcher = ChatOrderedDispatcher(gate=RedisUpdateGate(redis, namespace=namespace))
        dispatcher.include_router(router)
        return dispatcher

    one, two = replica("one"), replica("two")
    update = text_update(500, 77, "hello")
    await asyncio.gather(one.feed_update(bot, update), two.feed_update(bot, update))
    await asyncio.gather(one.feed_update(bot, text_update(501, 77, "again")),
                         two.feed_update(bot, text_update(501, 77, "again")))
    assert sorted(h.split(":")[1] for h in handled) == ["again", "hello"]
    await bot.session.close()
