"""The words Viza writes on the portal (timeline comments, tasks), in the company's language."""

from __future__ import annotations

from backend.i18n import translate
from backend.models import Employee, HistoryEvent, PaymentRequest
from backend.money import format_money

TEXTS = {
    "ru": {
        "bank_account": "Расчётный счёт",
        "comment.submit": "📝 Заявка {number} на оплату {amount} ({contractor}) отправлена на согласование.",
        "comment.approve": "✅ {actor} согласовал(а) заявку {number} на {amount} ({contractor}).",
        "comment.reject": "⛔ {actor} отказал(а) в оплате заявки {number} на {amount} ({contractor}).",
        "comment.return": "↩️ {actor} вернул(а) заявку {number} на доработку.",
        "comment.mark_paid": "💸 Заявка {number} оплачена {paid_on}: {amount} → {contractor}.",
        "comment.close": "📁 По заявке {number} получены закрывающие документы.",
        "comment.cancel": "✖️ Заявка {number} отозвана.",
        "comment.status": "Статус: {status}.",
        "comment.reason": "Комментарий: {comment}",
        "task.pay": "Оплатить заявку {number} ({contractor}, {amount}) до {pay_by}",
        "task.reject": "Заявка {number} отклонена — разобраться с {contractor}",
        "task.return": "Доработать заявку {number} ({contractor}, {amount})",
        "task.body.pay": "Заявка {number} согласована: {subject}. Получатель {contractor}, ИНН {inn}, сумма {amount}, "
                         "оплатить до {pay_by}.",
        "task.body.reject": "В оплате отказано: {subject}. {comment}",
        "task.body.return": "Что исправить: {comment}",
        "contract.comment.submit": "📝 Договор ({contractor}, {amount}) отправлен на согласование: {number}.",
        "contract.comment.approve": "✅ {actor} согласовал(а) договор с {contractor} ({number}).",
        "contract.comment.reject": "⛔ {actor} отклонил(а) договор с {contractor} ({number}).",
        "contract.comment.return": "↩️ {actor} вернул(а) договор с {contractor} на доработку ({number}).",
        "contract.comment.cancel": "✖️ Согласование договора {number} отозвано.",
        "contract.comment.approved": "Договор согласован, № {contract_number}.",
        "contract.task.approved": "Отправить клиенту на подпись договор № {contract_number} ({contractor})",
        "contract.task.reject": "Договор с {contractor} отклонён — разобраться ({number})",
        "contract.task.return": "Доработать договор с {contractor} ({number})",
        "contract.task.body.approved": "Договор с {contractor} согласован бухгалтерией: {subject}. Номер {contract_number}. "
                                       "Отправьте его клиенту на подпись.",
        "contract.task.body.reject": "Договор отклонён: {subject}. {comment}",
        "contract.task.body.return": "Что исправить в договоре: {comment}. Загрузите новую версию и отправьте снова.",
    },
    "en": {
        "bank_account": "Settlement account",
        "comment.submit": "📝 Request {number} to pay {amount} ({contractor}) was sent for approval.",
        "comment.approve": "✅ {actor} approved request {number} for {amount} ({contractor}).",
        "comment.reject": "⛔ {actor} rejected request {number} for {amount} ({contractor}).",
        "comment.return": "↩️ {actor} returned request {number} for rework.",
        "comment.mark_paid": "💸 Request {number} was paid on {paid_on}: {amount} → {contractor}.",
        "comment.close": "📁 Closing documents received for request {number}.",
        "comment.cancel": "✖️ Request {number} was cancelled.",
        "comment.status": "Status: {status}.",
        "comment.reason": "Comment: {comment}",
        "task.pay": "Pay request {number} ({contractor}, {amount}) by {pay_by}",
        "task.reject": "Request {number} was rejected — sort it out with {contractor}",
        "task.return": "Rework request {number} ({contractor}, {amount})",
        "task.body.pay": "Request {number} is approved: {subject}. Payee {contractor}, INN {inn}, amount {amount}, "
                         "pay by {pay_by}.",
        "task.body.reject": "Payment rejected: {subject}. {comment}",
        "task.body.return": "What to fix: {comment}",
        "contract.comment.submit": "📝 Contract ({contractor}, {amount}) was sent for approval: {number}.",
        "contract.comment.approve": "✅ {actor} approved the contract with {contractor} ({number}).",
        "contract.comment.reject": "⛔ {actor} rejected the contract with {contractor} ({number}).",
        "contract.comment.return": "↩️ {actor} returned the contract with {contractor} for rework ({number}).",
        "contract.comment.cancel": "✖️ Contract approval {number} was withdrawn.",
        "contract.comment.approved": "The contract is approved, No. {contract_number}.",
        "contract.task.approved": "Send contract No. {contract_number} ({contractor}) to the client to sign",
        "contract.task.reject": "The contract with {contractor} was rejected — sort it out ({number})",
        "contract.task.return": "Rework the contract with {contractor} ({number})",
        "contract.task.body.approved": "Accounting approved the contract with {contractor}: {subject}. Number "
                                       "{contract_number}. Send it to the client to sign.",
        "contract.task.body.reject": "Contract rejected: {subject}. {comment}",
        "contract.task.body.return": "What to change in the contract: {comment}. Upload a new version and send it again.",
    },
}


def get(key: str, language: str, **values: object) -> str:
    catalogue = TEXTS.get(language, TEXTS["ru"])
    return catalogue[key].format(**values)


def _values(request: PaymentRequest) -> dict[str, object]:
    return {"number": request.number, "amount": format_money(request.amount, request.currency),
            "contractor": request.contractor_name, "inn": request.contractor_inn, "subject": request.subject,
            "pay_by": request.pay_by.strftime("%d.%m.%Y")}


def _prefix(request: PaymentRequest) -> str:
    return "contract." if request.kind == "contract" else ""


def comment(request: PaymentRequest, event: HistoryEvent, language: str, people: dict[int, Employee]) -> str:
    actor = people.get(event.actor_id) if event.actor_id else None
    paid_on = request.paid_on.strftime("%d.%m.%Y") if request.paid_on else ""
    lines = [get(f"{_prefix(request)}comment.{event.action}", language,
                 actor=event.actor_label or (actor.full_name if actor else ""), paid_on=paid_on, **_values(request)),
             get("comment.status", language, status=translate(f"status.{event.to_status}", language))]
    number = (event.details or {}).get("contract_number")
    if request.kind == "contract" and event.to_status == "approved" and number:
        lines.append(get("contract.comment.approved", language, contract_number=number))
    if event.comment:
        lines.append(get("comment.reason", language, comment=event.comment))
    return "\n".join(lines)


def task_title(kind: str, request: PaymentRequest, language: str, contract_number: str = "") -> str:
    return get(f"{_prefix(request)}task.{kind}", language, contract_number=contract_number, **_values(request))[:250]


def task_description(kind: str, request: PaymentRequest, language: str, comment: str = "",
                     contract_number: str = "") -> str:
    return get(f"{_prefix(request)}task.body.{kind}", language, comment=comment, contract_number=contract_number,
               **_values(request))


def marker(history_id: int) -> str:
    """Names the event a comment or task was written for, so a retry can find it instead of writing it twice."""
    return f"[Viza #{history_id}]"
