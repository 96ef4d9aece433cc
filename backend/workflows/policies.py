"""Policies checked at submit: budget, duplicate invoice, changed bank details, prepayment.

A policy either blocks the submit with an error that names the numbers, or raises a flag
that every approver sees on the request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import InvalidInput
from backend.money import format_rub
from backend.models import Budget, PaymentRequest
from backend.workflows.lifecycle import Status

# Money already promised: counted against the budget of the month it is due.
COMMITTED = (Status.PENDING, Status.APPROVED, Status.PAID, Status.CLOSED)


@dataclass
class PolicyResult:
    over_budget: bool = False
    flags: list[dict[str, Any]] = field(default_factory=list)


def month_bounds(day: date) -> tuple[date, date]:
    start = day.replace(day=1)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


async def find_budget(session: AsyncSession, request: PaymentRequest) -> Budget | None:
    """The most specific budget for the request's department, expense item and month."""
    if request.department_id is None:
        return None
    start, _ = month_bounds(request.pay_by)
    rows = (await session.scalars(
        select(Budget).where(
            Budget.department_id == request.department_id, Budget.month == start,
            Budget.currency == request.currency,
            Budget.expense_item_key.in_([0, request.expense_item_id or 0]),
        )
    )).all()
    return max(rows, key=lambda b: b.expense_item_key, default=None)


async def spent_against(session: AsyncSession, budget: Budget, exclude_id: int) -> int:
    start, end = month_bounds(budget.month)
    query = select(func.coalesce(func.sum(PaymentRequest.amount), 0)).where(
        PaymentRequest.kind == "payment",  # a contract's price is not money spent
        PaymentRequest.department_id == budget.department_id,
        PaymentRequest.currency == budget.currency,
        PaymentRequest.pay_by >= start, PaymentRequest.pay_by < end,
        PaymentRequest.status.in_([s.value for s in COMMITTED]),
        PaymentRequest.id != exclude_id,
    )
    if budget.expense_item_id is not None:
        query = query.where(PaymentRequest.expense_item_id == budget.expense_item_id)
    return int(await session.scalar(query) or 0)


async def check_budget(session: AsyncSession, request: PaymentRequest, result: PolicyResult) -> None:
    budget = await find_budget(session, request)
    if budget is None:
        return
    spent = await spent_against(session, budget, request.id)
    if spent + request.amount <= budget.amount:
        return
    numbers = {"budget": budget.amount, "spent": spent, "amount": request.amount,
               "over": spent + request.amount - budget.amount, "month": budget.month.strftime("%m.%Y")}
    if budget.on_exceed == "block":
        raise InvalidInput("policy.budget_blocked", field="amount", **_money_params(numbers))
    result.over_budget = True
    result.flags.append({"code": "over_budget", **numbers})


async def check_duplicate_invoice(session: AsyncSession, request: PaymentRequest, result: PolicyResult) -> None:
    if not request.invoice_number:
        return
    rows = (await session.execute(
        select(PaymentRequest.id, PaymentRequest.number).where(
            PaymentRequest.contractor_inn == request.contractor_inn,
            PaymentRequest.invoice_number == request.invoice_number,
            PaymentRequest.amount == request.amount,
            PaymentRequest.id != request.id,
            PaymentRequest.status.notin_([Status.DRAFT.value, Status.CANCELLED.value, Status.REJECTED.value]),
        ).limit(5)
    )).all()
    if rows:
        result.flags.append({"code": "duplicate_invoice", "numbers": [r.number for r in rows],
                             "ids": [r.id for r in rows]})


async def check_changed_bank_details(session: AsyncSession, request: PaymentRequest, result: PolicyResult) -> None:
    """Flag an account that differs from the one this contractor was last paid to —
    the classic invoice fraud is a genuine invoice with someone else's account."""
    last = (await session.execute(
        select(PaymentRequest.account, PaymentRequest.bik, PaymentRequest.number).where(
            PaymentRequest.contractor_inn == request.contractor_inn,
            PaymentRequest.contractor_kpp == request.contractor_kpp,
            PaymentRequest.status.in_([Status.PAID.value, Status.CLOSED.value]),
            PaymentRequest.id != request.id,
        ).order_by(PaymentRequest.paid_at.desc(), PaymentRequest.id.desc()).limit(1)
    )).first()
    if last and (last.account, last.bik) != (request.account, request.bik):
        result.flags.append({"code": "changed_bank_details", "previous_account": last.account,
                             "previous_bik": last.bik, "previous_number": last.number})


def check_prepayment(request: PaymentRequest, result: PolicyResult) -> None:
    if request.is_prepayment:
        result.flags.append({"code": "prepayment"})


async def run_submit_policies(session: AsyncSession, request: PaymentRequest) -> PolicyResult:
    result = PolicyResult()
    await check_budget(session, request, result)
    await check_duplicate_invoice(session, request, result)
    await check_changed_bank_details(session, request, result)
    check_prepayment(request, result)
    return result


def _money_params(numbers: dict[str, Any]) -> dict[str, Any]:
    return {k: (format_rub(v) if isinstance(v, int) else v) for k, v in numbers.items()}
