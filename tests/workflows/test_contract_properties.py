"""Contract approvals under random sequences of actions (hypothesis): submit, approve, an added
approver, reject, return, a new version, cancel — by the rightful people and by others, with the
number given on approval or reserved at submit.

After every step, the invariants: the contract series of the year has no gaps and no duplicates
(every value 1…max is held by exactly one row; a given-up number is released and then taken
again); an approved contract holds a confirmed number, one that never got approved holds none
(or a reservation while on its way); versions run 1, 2, 3… with no hole; a deal's gate is open
exactly when one of its contracts is approved; an approved contract is never in the payment queue.
"""

from __future__ import annotations

import io
import itertools
import os

import docx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from backend.errors import DomainError
from backend.models import Attachment, Bitrix24Deal, Contract, DocumentNumber, PaymentRequest, RequestType
from backend.services import contracts as service
from backend.services.attachments import FileStore
from backend.services.contracts import ContractFields
from backend.services.payment_requests import act
from backend.services.transactions import in_transaction
from backend.services.worklists import payment_queue
from backend.workflows.lifecycle import Action
from tests.factories import inn, setup_company, today

EXAMPLES = int(os.environ.get("VIZA_HYPOTHESIS_EXAMPLES", "25"))
STEPS = ("submit", "approve", "approve_other", "add_director", "director_approves", "reject", "return",
         "new_version", "cancel", "outsider_approves")
_examples = itertools.count()


def _docx(text: str) -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


async def test_contract_numbers_versions_and_gates_hold_under_any_sequence(db, tmp_path):
    company = await setup_company(db)
    store = FileStore(tmp_path / "files")
    actors = company.actors

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(steps=st.lists(st.tuples(st.sampled_from(STEPS), st.integers(0, 2)), min_size=1, max_size=20),
           reserve=st.booleans())
    def run(steps, reserve):
        asyncio_run(example(steps, reserve))

    async def example(steps, reserve):
        n = next(_examples)
        async with db.session() as session:
            route = await session.scalar(select(RequestType).where(RequestType.code == "contract"))
            route.numbering = "reserve" if reserve else "approval"
            ids = []
            for i in range(3):
                fields = ContractFields(legal_entity_id=company.legal_entity.id, client_name=f"Клиент {i}",
                                        client_inn=inn(70 + i), subject="Услуги", amount="1000",
                                        bitrix24_deal_id=f"9{n}{i % 2}")
                request = await service.create_contract(session, store, actors["manager"], fields,
                                                        file=("v1.docx", _docx(f"{n}-{i}")))
                ids.append(request.id)
            await session.commit()
        for step, index in steps:
            await apply(step, ids[index])
            await check(ids)

    async def apply(step: str, contract_id: int) -> None:
        calls = {
            "submit": ("manager", Action.SUBMIT, {}),
            "approve": ("accountant", Action.APPROVE, {}),
            "approve_other": ("accountant2", Action.APPROVE, {}),
            "add_director": ("accountant", Action.ADD_APPROVER, {"employee_id": company.people["director"].id}),
            "director_approves": ("director", Action.APPROVE, {}),
            "reject": ("accountant", Action.REJECT, {"comment": "нет"}),
            "return": ("accountant2", Action.RETURN, {"comment": "поправить п. 2"}),
            "cancel": ("manager", Action.CANCEL, {}),
            "outsider_approves": ("outsider", Action.APPROVE, {}),
        }
        try:
            if step == "new_version":
                await in_transaction(db, lambda s: service.upload_version(
                    s, store, actors["manager"], contract_id, filename="v.docx", content=_docx(f"{contract_id}"),
                    max_bytes=10**6))
                return
            who, action, data = calls[step]
            comment = data.pop("comment", "")
            await in_transaction(db, lambda s: act(s, actors[who], contract_id, action, comment=comment, **data))
        except DomainError:
            pass  # refused: the checks below prove it changed nothing that matters

    async def check(ids):
        async with db.session() as session:
            rows = list(await session.scalars(select(DocumentNumber).where(
                DocumentNumber.series == "contract", DocumentNumber.year == today().year)))
            values = sorted(r.value for r in rows)
            assert values == list(range(1, len(values) + 1)), values  # no gaps, no duplicates
            held = {r.request_id: r for r in rows if r.state in ("reserved", "confirmed")}
            assert all(r.request_id is None for r in rows if r.state == "released")
            for contract_id in ids:
                request = await session.get(PaymentRequest, contract_id)
                await session.refresh(request)
                contract = await session.get(Contract, contract_id)
                await session.refresh(contract)
                number = held.get(contract_id)
                if request.status == "approved":
                    assert contract.number_state == "confirmed" and number is not None
                    assert number.state == "confirmed" and number.text == contract.number
                elif contract.number is None:
                    assert number is None and contract.number_state == "none"
                else:
                    assert number is not None and number.text == contract.number
                    assert contract.number_state == number.state
                    assert number.state == "reserved" or request.approved_at is not None
                versions = sorted(v for v in await session.scalars(select(Attachment.version).where(
                    Attachment.request_id == contract_id, Attachment.kind == "contract")))
                assert versions == list(range(1, len(versions) + 1))
            for deal_id in {c.bitrix24_deal_id for c in [await session.get(Contract, i) for i in ids]}:
                approved = await session.scalar(select(func.count()).select_from(Contract).join(
                    PaymentRequest, PaymentRequest.id == Contract.request_id).where(
                    Contract.bitrix24_deal_id == deal_id, PaymentRequest.status == "approved"))
                deal = await session.get(Bitrix24Deal, deal_id)
                if deal is not None:
                    await session.refresh(deal)
                assert (deal is not None and deal.contract_approved_at is not None) == bool(approved), deal_id
            assert (await payment_queue(session, actors["accountant"], "all")).total == 0

    import asyncio
    import threading

    def asyncio_run(coroutine):
        # hypothesis drives a sync function; the database belongs to this test's event loop, so
        # each example runs there from a worker thread.
        future = asyncio.run_coroutine_threadsafe(coroutine, loop)
        return future.result()

    loop = asyncio.get_running_loop()
    worker = threading.Thread(target=run)
    error: list[BaseException] = []

    def target():
        try:
            run()
        except BaseException as exc:  # noqa: BLE001 — re-raised in the test below
            error.append(exc)

    worker = threading.Thread(target=target)
    worker.start()
    while worker.is_alive():
        await asyncio.sleep(0.01)
    if error:
        raise error[0]
