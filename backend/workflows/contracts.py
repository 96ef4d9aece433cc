"""What the life cycle does for a contract approval beyond what every item gets.

* Its number: given on approval, or reserved at submit and confirmed on approval, as the
  contract's route (request type) says; a reserved number goes back to the series when the
  contract is rejected or cancelled, so the series has no gaps.
* Its deal: an approved contract opens the deal's "contract approved" stage gate in Bitrix24
  (seed 000); a cancelled one closes it again unless another approved contract stands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from backend.documents.numbers import confirm_number, release_number, take_number
from backend.integrations.bitrix24.gates import deal_state
from backend.models import Contract, LegalEntity, PaymentRequest, RequestType

if TYPE_CHECKING:
    from backend.workflows.engine import Step

SERIES = "contract"


async def _contract(step: Step) -> Contract:
    contract = await step.session.get(Contract, step.request.id)
    if contract is None:  # created with the request; a missing row is a bug, not a user's mistake
        raise RuntimeError(f"contract approval {step.request.id} has no contract row")
    return contract


async def _numbering(step: Step) -> str:
    request_type = await step.session.get(RequestType, step.request.request_type_id)
    return request_type.numbering if request_type is not None else "approval"


async def _take(step: Step, contract: Contract, state: str) -> None:
    legal_entity = await step.session.get(LegalEntity, step.request.legal_entity_id)
    number = await take_number(step.session, legal_entity, SERIES, step.today.year, state=state,
                               request_id=step.request.id)
    contract.number, contract.number_state = number.text, state
    step.details["contract_number"] = number.text


async def on_submit(step: Step) -> None:
    """Reserve the number at submit when the route says so (once: a resubmit keeps it)."""
    contract = await _contract(step)
    if await _numbering(step) == "reserve" and contract.number_state == "none":
        await _take(step, contract, "reserved")


async def on_approved(step: Step) -> None:
    contract = await _contract(step)
    if contract.number_state == "reserved":
        await confirm_number(step.session, step.request.id, SERIES)
        contract.number_state = "confirmed"
        step.details["contract_number"] = contract.number
    elif contract.number_state == "none":
        await _take(step, contract, "confirmed")
    if contract.bitrix24_deal_id:
        deal = await deal_state(step.session, contract.bitrix24_deal_id)
        deal.contract_approved_at, deal.contract_approved_by_id = step.now, step.actor.employee_id
        step.details["deal_gate"] = "opened"


async def on_route_ended(step: Step, *, was_approved: bool) -> None:
    """Rejected or cancelled: a reserved number is given back; an approved contract's deal gate
    closes unless another approved contract of the deal stands."""
    contract = await _contract(step)
    if contract.number_state == "reserved":
        await release_number(step.session, step.request.id, SERIES)
        step.details["contract_number_released"] = contract.number
        contract.number, contract.number_state = None, "none"
    if was_approved and contract.bitrix24_deal_id:
        other = await step.session.scalar(
            select(Contract.request_id).join(PaymentRequest, PaymentRequest.id == Contract.request_id).where(
                Contract.bitrix24_deal_id == contract.bitrix24_deal_id, Contract.request_id != step.request.id,
                PaymentRequest.status == "approved").limit(1))
        if other is None:
            deal = await deal_state(step.session, contract.bitrix24_deal_id)
            deal.contract_approved_at, deal.contract_approved_by_id = None, None
            step.details["deal_gate"] = "closed"
