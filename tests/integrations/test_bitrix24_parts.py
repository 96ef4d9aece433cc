"""The Bitrix24 pieces that need no portal: PHP-style forms, the bucket, shared batches, events."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl, urlencode

import pytest

from backend.integrations.bitrix24.batching import CommandBatcher
from backend.integrations.bitrix24.client import Answer, BatchAnswer, Bitrix24Error, webhook_base
from backend.integrations.bitrix24.events import EventRejected, read_event
from backend.integrations.bitrix24.limiter import LeakyBucket
from backend.integrations.bitrix24.php_form import encode, parse


class TestPhpForm:
    def test_nested_fields_survive_a_round_trip(self):
        params = {"fields": {"TITLE": "ООО «Ромашка» & Co", "UF_CRM_TASK": ["D_1", "D_2"]}, "filter": {"@ID": [1, 2]}}
        assert parse(parse_qsl(encode(params))) == {
            "fields": {"TITLE": "ООО «Ромашка» & Co", "UF_CRM_TASK": {"0": "D_1", "1": "D_2"}},
            "filter": {"@ID": {"0": "1", "1": "2"}}}

    def test_a_bitrix24_event_body_parses(self):
        body = urlencode([("event", "ONCRMDEALUPDATE"), ("data[FIELDS][ID]", "42"), ("auth[application_token]", "t"),
                          ("a[]", "x"), ("a[]", "y")])
        assert parse(parse_qsl(body)) == {"event": "ONCRMDEALUPDATE", "data": {"FIELDS": {"ID": "42"}},
                                          "auth": {"application_token": "t"}, "a": {"0": "x", "1": "y"}}

    def test_booleans_are_y_and_n(self):
        assert encode({"a": True, "b": False}) == "a=Y&b=N"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class TestLeakyBucket:
    async def test_a_full_bucket_waits_for_its_drain(self, monkeypatch):
        clock = FakeClock()
        slept = []

        async def sleep(seconds):
            slept.append(seconds)
            clock.now += seconds

        monkeypatch.setattr("backend.integrations.bitrix24.limiter.asyncio.sleep", sleep)
        bucket = LeakyBucket(50, 2.0, clock=clock, headroom=1.0)
        for _ in range(49):
            await bucket.acquire()
        assert slept == []
        await bucket.acquire()  # the 50th would leave no headroom: half a second's drain first
        assert slept == [pytest.approx(0.5)]

    async def test_a_refusal_means_the_portal_is_full(self, monkeypatch):
        clock = FakeClock()

        async def sleep(seconds):
            clock.now += seconds

        monkeypatch.setattr("backend.integrations.bitrix24.limiter.asyncio.sleep", sleep)
        bucket = LeakyBucket(50, 2.0, clock=clock)
        await bucket.overflowed()
        await bucket.acquire()
        assert clock.now == pytest.approx(1.0)  # from 50 down to 48 + 1 within the limit of 49


class FakeClient:
    def __init__(self, fail: dict[str, Bitrix24Error] | None = None) -> None:
        self.batches: list[dict] = []
        self.fail = fail or {}

    async def call(self, method, params):
        self.batches.append({"only": (method, params)})
        return Answer({"method": method, **params})

    async def batch(self, commands, *, halt=False):
        self.batches.append(dict(commands))
        results = {n: {"method": m, **p} for n, (m, p) in commands.items() if m not in self.fail}
        errors = {n: self.fail[m] for n, (m, _) in commands.items() if m in self.fail}
        return BatchAnswer(results, errors, {}, {})


class TestCommandBatcher:
    async def test_concurrent_handlers_share_batches_of_at_most_fifty(self):
        client = FakeClient()
        batcher = CommandBatcher(client)

        async def handler(i):
            first = await batcher.call("crm.requisite.list", {"i": i})
            await asyncio.sleep(0)  # a database write between two steps
            second = await batcher.group({f"a{i}": ("crm.company.add", {"i": i}), f"b{i}": ("crm.requisite.add", {"i": i})})
            return first["i"], sorted(second)

        results = await batcher.run([handler(i) for i in range(60)])
        assert results == [(i, [f"a{i}", f"b{i}"]) for i in range(60)]
        sizes = [len(b) for b in client.batches]
        assert sum(sizes) == 180 and max(sizes) == 50
        assert len(client.batches) == 2 + 3  # 60 lookups, then 120 creates: the fewest calls possible
        assert batcher.calls == len(client.batches)

    async def test_a_failed_command_fails_only_its_handler(self):
        client = FakeClient(fail={"crm.item.add": Bitrix24Error("", "Поле title обязательно", status=400)})
        batcher = CommandBatcher(client)

        async def good():
            return await batcher.call("crm.company.add", {})

        async def bad():
            return await batcher.call("crm.item.add", {})

        ok, failed = await batcher.run([good(), bad()])
        assert ok["method"] == "crm.company.add"
        assert isinstance(failed, Bitrix24Error) and "title" in failed.description


class TestWebhookUrl:
    @pytest.mark.parametrize("url", ["https://acme.bitrix24.ru/rest/1/abc123/", "http://127.0.0.1:8000/rest/12/x_y",
                                     "https://crm.acme.ru/bitrix/rest/7/k3y/"])
    def test_good_addresses(self, url):
        assert webhook_base(url).endswith("/")

    @pytest.mark.parametrize("url", ["https://acme.bitrix24.ru/", "acme.bitrix24.ru/rest/1/abc", "https://acme.bitrix24.ru/rest/x/abc/",
                                     "https://acme.bitrix24.ru/rest/1/abc/crm.deal.list"])
    def test_bad_addresses_say_what_they_should_look_like(self, url):
        with pytest.raises(ValueError, match="rest/<user id>/<code>"):
            webhook_base(url)


class TestEvents:
    def body(self, **fields):
        values = {"event": "ONCRMDEALUPDATE", "data[FIELDS][ID]": "42", "ts": "1764000000",
                  "auth[application_token]": "right", "auth[domain]": "acme.bitrix24.ru"}
        values.update(fields)
        return urlencode({k: v for k, v in values.items() if v is not None}).encode()

    def test_a_deal_event_with_the_token_is_read(self):
        event = read_event(self.body(), "right")
        assert (event.event, event.deal_id) == ("ONCRMDEALUPDATE", "42")

    @pytest.mark.parametrize("token", ["wrong", "", None])
    def test_a_forged_token_is_refused(self, token):
        with pytest.raises(EventRejected) as refused:
            read_event(self.body(**{"auth[application_token]": token}), "right")
        assert refused.value.status == 401

    def test_without_a_configured_token_nothing_is_accepted(self):
        with pytest.raises(EventRejected) as refused:
            read_event(self.body(), None)
        assert refused.value.status == 403

    @pytest.mark.parametrize("fields", [{"data[FIELDS][ID]": "42; DROP"}, {"data[FIELDS][ID]": None}, {"event": None}])
    def test_malformed_events_are_refused(self, fields):
        with pytest.raises(EventRejected) as refused:
            read_event(self.body(**fields), "right")
        assert refused.value.status == 400

    def test_other_events_are_ignored(self):
        assert read_event(self.body(event="ONCRMCONTACTADD"), "right") is None

    def test_binary_garbage_is_refused(self):
        with pytest.raises(EventRejected):
            read_event(b"\xff\xfe\x00garbage", "right")


async def test_replicas_share_one_bitrix24_bucket_through_redis(redis):
    """Two replicas calling one portal together keep to its drain rate, and a refusal seen by
    one makes the other wait too."""
    import time
    import uuid

    from backend.integrations.bitrix24.limiter import SharedLeakyBucket

    key = f"viza:test:{uuid.uuid4().hex}"
    first, second = (SharedLeakyBucket(redis, key, capacity=5, drain_per_second=10.0) for _ in range(2))
    started = time.monotonic()
    await asyncio.gather(*(bucket.acquire() for bucket in (first, second) for _ in range(7)))
    # 14 hits: 4 fit (5 less the headroom), the other 10 at 10 per second.
    assert 0.9 <= time.monotonic() - started <= 1.6
    await first.overflowed()
    started = time.monotonic()
    await second.acquire()
    assert time.monotonic() - started >= 0.09
