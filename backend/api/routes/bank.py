"""Bank files: approved requests as payment orders for the bank client; a statement that marks them paid."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, UploadFile
from fastapi.responses import Response
from pydantic import Field

from backend.api.deps import CoreDep, SettingsDep
from backend.errors import InvalidInput
from backend.money import format_amount
from backend.services import bank_files
from backend.services.registry import RegistryQuery

router = APIRouter(prefix="/api/v1/bank", tags=["bank"])


class PaymentOrdersQuery(RegistryQuery):
    """The registry's filters (the status is always approved) and the account to pay from."""

    bank_account_id: int | None = Field(default=None, description="The payer's account; the legal entity's "
                                        "default one when omitted")


@router.get("/payment-orders", response_class=Response,
            summary="Approved requests of one legal entity as a 1CClientBankExchange file (cp1251) for the bank client")
async def payment_orders(query: Annotated[PaymentOrdersQuery, Query()], core: CoreDep) -> Response:
    filters = RegistryQuery(**query.model_dump(exclude={"bank_account_id"}, exclude_unset=True))
    bank_file = await core.call(bank_files.export_payment_orders, core.actor, filters, query.bank_account_id)
    return Response(bank_file.content, media_type="text/plain; charset=windows-1251", headers={
        "Content-Disposition": f'attachment; filename="{bank_file.filename}"',
        "X-Viza-Count": str(bank_file.count), "X-Viza-Total": format_amount(bank_file.total),
    })


@router.post("/statements", summary="Import a bank statement (1CClientBankExchange): mark the requests it paid")
async def statements(core: CoreDep, settings: SettingsDep, file: UploadFile) -> dict[str, Any]:
    max_bytes = settings.max_upload_mb * 1024 * 1024
    content = await file.read(max_bytes + 1)  # never more than the limit in memory
    if len(content) > max_bytes:
        raise InvalidInput("attachment.too_large", field="file", max_mb=settings.max_upload_mb)
    return await core.call(bank_files.import_statement, core.actor, content,
                            view=lambda result: bank_files.statement_view(result, core.actor.language))
