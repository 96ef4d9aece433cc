"""All tables; importing this package registers them on ``Base.metadata``."""

from backend.models.access import ApiToken, Delegation
from backend.models.company import ROLES, TAX_REGIMES, BankAccount, Budget, Department, Employee, ExpenseItem, LegalEntity
from backend.models.counterparties import Counterparty
from backend.models.documents import (
    CLIENT_TYPES, PAYMENT_TERMS, CatalogueItem, Contract, DocumentNumber, DocumentTemplate, OutgoingInvoice,
)
from backend.models.history import HistoryEvent, OutboxMessage
from backend.models.integrations import Bitrix24Deal, ExternalLink
from backend.models.operations import SchedulerRun
from backend.models.payment_requests import ApprovalTask, Attachment, NumberCounter, PaymentRequest, RequestStage
from backend.models.routes import RequestType, RouteStage
from backend.models.telegram import BotCard, BotState, Invite
from backend.models.web import AppSecret, WebLoginLink

__all__ = [
    "CLIENT_TYPES", "PAYMENT_TERMS", "ROLES", "TAX_REGIMES", "ApiToken", "CatalogueItem", "Contract",
    "DocumentNumber", "DocumentTemplate", "OutgoingInvoice", "ApprovalTask", "Attachment", "BankAccount", "Bitrix24Deal", "BotCard", "BotState", "Budget",
    "Counterparty", "Delegation", "Department", "Employee", "ExpenseItem", "ExternalLink", "HistoryEvent",
    "Invite", "LegalEntity", "NumberCounter", "OutboxMessage", "PaymentRequest", "RequestStage",
    "RequestType", "RouteStage", "AppSecret", "SchedulerRun", "WebLoginLink",
]
