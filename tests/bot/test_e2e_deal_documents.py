"""/deal in chat makes documents: the deal's contract as PDF and DOCX, and the invoice under its
approved contract (the 70 % prepayment of a 70/30 contract), sent back as files."""

from __future__ import annotations

import io
import zipfile

from pypdf import PdfReader

from backend.documents.invoice_intake import read_payment_qr
from backend.models import BankAccount, LegalEntity, OutgoingInvoice
from backend.services.attachments import FileStore
from backend.services.contracts import ContractFields, create_contract
from backend.services.payment_requests import act
from backend.workflows.lifecycle import Action
from tests.api.test_contracts_api import contract_docx
from tests.bot.conftest import Viza, texts_of
from tests.bot.test_e2e_bank_files import reply
from tests.factories import SBER_BIK, account, inn


async def deal_contract(viza: Viza, *, approve: bool) -> int:
    company = viza.company
    async with viza.db.session() as session:
        entity = await session.get(LegalEntity, company.legal_entity.id)
        entity.address = "123456, г. Москва, ул. Тверская, д. 1"
        session.add(BankAccount(legal_entity_id=entity.id, bank_name="ПАО Сбербанк", bik=SBER_BIK,
                                account=account(9), corr_account="30101810400000000225", is_default=True))
        fields = ContractFields(legal_entity_id=entity.id, client_name="ООО «Клиент»", client_inn=inn(77),
                                subject="Внедрение", amount="100000", bitrix24_deal_id="42",
                                payment_terms="prepay_70_30")
        request = await create_contract(session, FileStore(viza.settings.files_dir), company.actors["manager"],
                                        fields, file=("c.docx", contract_docx("Договор")))
        await act(session, company.actors["manager"], request.id, Action.SUBMIT)
        if approve:
            await act(session, company.actors["accountant"], request.id, Action.APPROVE)
        await session.commit()
        return request.id


async def files_after(viza: Viza, who: str, since, count: int):
    user = viza[who]
    return await viza.tg.wait_for(
        lambda: (found if len(found := [m for m in user.chat.bot_messages if m.seq > since.seq and m.document])
                 >= count else None), message=f"{who} got fewer than {count} files")


async def test_the_manager_gets_the_contract_and_the_prepayment_invoice_as_pdf_and_docx(viza: Viza):
    await deal_contract(viza, approve=True)
    await viza.bind("manager")
    manager = viza["manager"]
    card = await reply(viza, "manager", await manager.send("/deal 42"), "Сделка №42")
    assert "Договоры по сделке" in card.text

    tap = await manager.tap(card, text="📄 Договор (PDF и DOCX)")
    pdf, docx_file = await files_after(viza, "manager", tap, 2)
    assert pdf.document.file_name.endswith(".pdf") and docx_file.document.file_name.endswith(".docx")
    text = " ".join(PdfReader(io.BytesIO(viza.tg.download(pdf.document.file_id))).pages[0].extract_text().split())
    assert "ООО «Клиент»" in text and "/0001" in text

    tap = await manager.tap(card, text="🧾 Счёт (PDF и DOCX)")
    pdf, docx_file = await files_after(viza, "manager", tap, 2)
    assert "на 70\u00a0000,00\u00a0₽" in pdf.caption
    qr = read_payment_qr(viza.tg.download(pdf.document.file_id))
    assert qr is not None and qr.sum_kopecks == 7_000_000
    with zipfile.ZipFile(io.BytesIO(viza.tg.download(docx_file.document.file_id))) as archive:
        assert "ООО «Клиент»" in archive.read("word/document.xml").decode()

    # The next tap issues the final 30 %; a third sends that one again and issues nothing.
    tap = await manager.tap(card, text="🧾 Счёт (PDF и DOCX)")
    final, _ = await files_after(viza, "manager", tap, 2)
    assert "на 30\u00a0000,00\u00a0₽" in final.caption
    tap = await manager.tap(card, text="🧾 Счёт (PDF и DOCX)")
    again, _ = await files_after(viza, "manager", tap, 2)
    assert "уже выставлен" in again.caption and "30\u00a0000,00" in again.caption
    async with viza.db.session() as session:
        from sqlalchemy import func, select

        assert await session.scalar(select(func.count()).select_from(OutgoingInvoice)) == 2


async def test_no_invoice_before_the_contract_is_approved(viza: Viza):
    await deal_contract(viza, approve=False)
    await viza.bind("manager")
    manager = viza["manager"]
    card = await reply(viza, "manager", await manager.send("/deal 42"), "Сделка №42")
    tap = await manager.tap(card, text="🧾 Счёт (PDF и DOCX)")
    answer = await tap.wait()
    assert "нет согласованного договора" in (answer or "") or "нет согласованного договора" in texts_of(viza, "manager")
