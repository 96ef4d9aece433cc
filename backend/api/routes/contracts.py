"""Contract approvals: create, edit, upload versions, the life-cycle actions, status by deal,
the annual contracts store."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from backend.api.deps import CoreDep, SettingsDep
from backend.api.routes.payment_requests import ActionBody, AddApproverBody, action_route
from backend.services import attachments
from backend.services import contracts as service
from backend.services.attachments import FileStore
from backend.services.contracts import ContractFields
from backend.services.views import detail
from backend.workflows.lifecycle import Action

router = APIRouter(prefix="/api/v1/contracts", tags=["contracts"])


class RenewBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: int = Field(description="The year the new contract is for (this year or the next)")


async def _view(session, core, request) -> dict[str, Any]:
    return {**await detail(session, core.actor, request), "contract": await service.contract_view(session, request)}


@router.post("", status_code=201, summary="Start a contract approval (a draft); upload the file to …/versions")
async def create(fields: ContractFields, core: CoreDep, settings: SettingsDep) -> dict[str, Any]:
    async def work(session):
        request = await service.create_contract(session, FileStore(settings.files_dir), core.actor, fields)
        return await _view(session, core, request)

    return await core.run(work)


@router.get("", summary="The contract status of a Bitrix24 deal (what its stage gate checks)")
async def by_deal(core: CoreDep, deal_id: str = Query(pattern=r"^\d{1,18}$")) -> dict[str, Any]:
    return await core.call(service.contracts_of_deal, core.actor, deal_id)


@router.get("/annual", summary="The annual contracts store: approved contracts to reuse")
async def annual(core: CoreDep, q: str | None = Query(default=None, max_length=100),
                 legal_entity_id: int | None = None, limit: int = Query(default=50, ge=1, le=200)) -> list[dict[str, Any]]:
    return await core.call(service.annual_contracts, core.actor, legal_entity_id=legal_entity_id, q=q, limit=limit)


@router.get("/{contract_id}")
async def read(contract_id: int, core: CoreDep) -> dict[str, Any]:
    async def work(session):
        return await _view(session, core, await service.get_contract(session, core.actor, contract_id))

    return await core.run(work)


@router.patch("/{contract_id}")
async def update(contract_id: int, fields: ContractFields, core: CoreDep,
                 version: int | None = Query(default=None)) -> dict[str, Any]:
    async def work(session):
        outcome = await service.update_contract(session, core.actor, contract_id, fields, expected_version=version)
        return {"changed": outcome.changed, "request": await _view(session, core, outcome.request)}

    return await core.run(work)


@router.post("/{contract_id}/versions", status_code=201,
             summary="Upload the contract file (DOCX, DOC or PDF): the next version")
async def upload_version(contract_id: int, file: UploadFile, core: CoreDep, settings: SettingsDep) -> dict[str, Any]:
    max_bytes = settings.max_upload_mb * 1024 * 1024
    content = await file.read(max_bytes + 1)

    async def work(session):
        attachment = await service.upload_version(session, FileStore(settings.files_dir), core.actor, contract_id,
                                                  filename=file.filename or "contract", content=content,
                                                  max_bytes=max_bytes)
        return attachments.attachment_view(attachment)

    return await core.run(work)


@router.post("/{contract_id}/renew", status_code=201,
             summary="A new year's contract from one in the annual store (a draft to check and submit)")
async def renew(contract_id: int, body: RenewBody, core: CoreDep, settings: SettingsDep) -> dict[str, Any]:
    async def work(session):
        request = await service.renew_contract(session, FileStore(settings.files_dir), core.actor, contract_id,
                                               year=body.year)
        return await _view(session, core, request)

    return await core.run(work)


for _action, _body, _path, _summary in (
    (Action.SUBMIT, ActionBody, "submit", "Send for approval (draft or returned, with a new version)"),
    (Action.APPROVE, ActionBody, "approve", "Approve the current stage (the number is given on the last)"),
    (Action.REJECT, ActionBody, "reject", "Reject, with a reason"),
    (Action.RETURN, ActionBody, "return", "Return with remarks: what to change in the text"),
    (Action.COMMENT, ActionBody, "comment", "Comment without deciding"),
    (Action.ADD_APPROVER, AddApproverBody, "add-approver", "Add an approver to the current stage"),
    (Action.CANCEL, ActionBody, "cancel", "Withdraw"),
):
    action_route(router, _action, _body, _path, _summary)
