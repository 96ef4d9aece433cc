"""A supplier's PDF invoice sent to the bot fills a new request in; the person confirms on the summary."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from backend.models import Attachment, PaymentRequest
from tests.bot.conftest import Viza

SAMPLES = Path(__file__).resolve().parents[1] / "documents" / "samples"


async def send_invoice(viza: Viza, name: str, data: bytes | None = None):
    user = viza["manager"]
    sent = await user.send_document(data or (SAMPLES / name).read_bytes(), filename=name, mime_type="application/pdf")
    return await user.wait_bot_message(since=sent)


async def pick_type_and_day(viza: Viza) -> None:
    user = viza["manager"]
    ask = await viza.tg.wait_for(lambda: user.last_bot_message if "Оплата поставщику" in user.last_bot_message.button_texts
                                 else None)
    await user.tap(ask, text="Оплата поставщику")
    calendar = await viza.tg.wait_for(lambda: user.last_bot_message if "Оплатить до" in (user.last_bot_message.text or "")
                                      else None)
    day = [d for row in calendar.buttons for _, d in row if d and d.startswith("c:day:")][-1]
    await user.tap(calendar, data=day)


async def test_an_invoice_fills_the_request_and_nothing_goes_before_submit(viza: Viza):
    await viza.bind("manager")
    user = viza["manager"]
    read = await send_invoice(viza, "classic_1c.pdf")
    assert "Прочитал счёт" in read.text and "получатель с банковскими реквизитами" in read.text
    await pick_type_and_day(viza)
    summary = await viza.tg.wait_for(lambda: user.last_bot_message if "Проверьте заявку" in (user.last_bot_message.text or "")
                                     else None)
    for shown in ("7728012340", "772801001", "40702810500000001234", "26\u00a0000,50", "Оплата по счету № 123 от 20.11.2026",
                  "classic_1c.pdf"):
        assert shown in summary.text, (shown, summary.text)
    async with viza.db.session() as session:
        assert await session.scalar(select(PaymentRequest)) is None  # nothing before Submit
    await user.tap(summary, text="📤 Отправить на согласование")
    await viza.tg.wait_for(lambda: any("создана" in (m.text or "") for m in user.chat.bot_messages))
    async with viza.db.session() as session:
        request = await session.scalar(select(PaymentRequest))
        files = (await session.scalars(select(Attachment).where(Attachment.request_id == request.id))).all()
    assert (request.contractor_inn, request.contractor_kpp, request.account, request.amount) == (
        "7728012340", "772801001", "40702810500000001234", 2_600_050)
    assert request.contractor_name == 'ООО "Ромашка"' and request.status == "pending"
    assert [(f.kind, f.filename) for f in files] == [("invoice", "classic_1c.pdf")]


async def test_a_field_read_wrong_can_be_corrected_on_the_summary(viza: Viza):
    await viza.bind("manager")
    user = viza["manager"]
    await send_invoice(viza, "sole_trader.pdf")
    await pick_type_and_day(viza)
    summary = await viza.tg.wait_for(lambda: user.last_bot_message if "Проверьте заявку" in (user.last_bot_message.text or "")
                                     else None)
    assert "500100732259" in summary.text and "15\u00a0000,50" in summary.text
    await user.tap(summary, text="✏️ Изменить")
    await viza.tg.wait_for(lambda: "Сумму" in " ".join(summary.button_texts) or "Сумма" in " ".join(summary.button_texts))
    button = next(b for b in summary.button_texts if "умм" in b)
    await user.tap(summary, text=button)
    await viza.tg.wait_for(lambda: "например" in (user.last_bot_message.text or ""))  # the amount's question
    sent = await user.send("14 000")
    fixed = await user.wait_bot_message(since=sent)
    assert "14\u00a0000,00" in fixed.text and "Проверьте заявку" in fixed.text


async def test_a_scan_is_said_to_be_unreadable_and_the_dialog_asks_everything(viza: Viza):
    await viza.bind("manager")
    user = viza["manager"]
    reply = await send_invoice(viza, "scan.pdf")
    assert "нет текста" in reply.text and "приложил" in reply.text
    ask = await viza.tg.wait_for(lambda: user.last_bot_message if "Оплата поставщику" in user.last_bot_message.button_texts
                                 else None)
    await user.tap(ask, text="Оплата поставщику")
    await viza.tg.wait_for(lambda: "ИНН контрагента" in (user.last_bot_message.text or ""))


async def test_a_file_that_is_not_a_pdf_gets_a_clear_answer(viza: Viza):
    await viza.bind("manager")
    reply = await send_invoice(viza, "invoice.pdf", data=b"PK\x03\x04 this is a zip")
    assert "не PDF" in reply.text or "PDF" in reply.text


async def test_a_scan_with_the_payment_qr_code_is_read_from_the_code(viza: Viza):
    await viza.bind("manager")
    user = viza["manager"]
    read = await send_invoice(viza, "scan_with_qr.pdf")
    assert "Прочитал счёт" in read.text and "QR-код" in read.text
    await pick_type_and_day(viza)
    summary = await viza.tg.wait_for(lambda: user.last_bot_message if "Проверьте заявку" in (user.last_bot_message.text or "")
                                     else None)
    for shown in ("7715024683", "40702810100000002468", "48\u00a0000,00", "Оплата по счету № 77"):
        assert shown in summary.text, (shown, summary.text)
