"""Documents: posting (``/Post``, ``/Unpost``), the checks BP 3.0 makes when a payment order or a
bank write-off is posted, and the bank statement that pays an order (``record_payment``).

How BP 3.0 records a payment: the payment order (``Document_ПлатежноеПоручение``) is only the
instruction to the bank. When the bank statement is loaded, 1C creates a posted
``Document_СписаниеСРасчетногоСчета`` whose ``ДокументОснование`` is the order
(``ДокументОснование_Type`` = ``StandardODATA.Document_ПлатежноеПоручение``), with the
order's number/date as ``НомерВходящегоДокумента``/``ДатаВходящегоДокумента`` and
``ПроведеноБанком`` = true. Current releases also keep the order's state ("Оплачено") in
``InformationRegister_СостоянияБанковскихДокументов``; older ones had an ``Оплачено`` flag on
the order itself (``OneCEmulator(paid_flag=True)``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from . import errors
from .metadata import (
    BANK_DOC_STATES,
    EMPTY_GUID,
    PAYMENT_ORDER,
    WRITE_OFF,
    EntitySetDef,
)
from .state import Store, as_odata_date

_REQUIRED: dict[str, list[tuple[str, str]]] = {
    PAYMENT_ORDER: [
        ("Организация_Key", "Организация"),
        ("СчетОрганизации_Key", "Счет организации"),
        ("Контрагент", "Получатель"),
        ("СчетКонтрагента_Key", "Счет получателя"),
        ("СуммаДокумента", "Сумма"),
        ("НазначениеПлатежа", "Назначение платежа"),
    ],
    WRITE_OFF: [
        ("Организация_Key", "Организация"),
        ("СчетОрганизации_Key", "Счет организации"),
        ("Контрагент", "Получатель"),
        ("СуммаДокумента", "Сумма"),
    ],
}


def presentation(definition: EntitySetDef, entity: dict) -> str:
    """``Платежное поручение 0000-000001 от 15.01.2025 0:00:00`` — how 1C names a document."""
    when = entity.get("Date") or ""
    try:
        moment = datetime.fromisoformat(when)
        shown = f"{moment:%d.%m.%Y} {moment.hour}:{moment:%M:%S}"
    except ValueError:
        shown = when
    return f"{definition.title} {entity.get('Number', '')} от {shown}"


def _empty(value: Any) -> bool:
    return value in (None, "", EMPTY_GUID, 0, 0.0)


def posting_problems(store: Store, definition: EntitySetDef, entity: dict) -> list[str]:
    problems = []
    for field, label in _REQUIRED.get(definition.name, []):
        if _empty(entity.get(field)):
            problems.append(f'Поле "{label}" не заполнено')
            continue
        ref_set = None
        prop = definition.props[field]
        if prop.ref:
            ref_set = prop.ref
        elif prop.composite:
            type_name = entity.get(f"{field}_Type", "")
            ref_set = type_name.removeprefix("StandardODATA.")
        if ref_set in store.entities and store.get(ref_set, str(entity[field])) is None:
            problems.append(f'Поле "{label}" содержит ссылку на несуществующий объект (<Объект не найден> ({entity[field]}))')
    return problems


def post(store: Store, definition: EntitySetDef, entity: dict, *, forced_error: str | None) -> None:
    """Post the document or raise the 500 1C answers when posting fails."""
    if forced_error:
        raise errors.internal(forced_error)
    if entity.get("DeletionMark"):
        raise errors.internal(f'Не удалось провести "{presentation(definition, entity)}"!\nДокумент помечен на удаление')
    problems = posting_problems(store, definition, entity)
    if problems:
        raise errors.internal(f'Не удалось провести "{presentation(definition, entity)}"!\n' + "\n".join(problems))
    entity["Posted"] = True


def unpost(definition: EntitySetDef, entity: dict) -> None:
    entity["Posted"] = False


def parse_posting_mode(query: dict[str, str]) -> bool | None:
    """``PostingModeOperational`` — ``None`` when absent; 400 when not true/false."""
    raw = query.get("PostingModeOperational")
    if raw is None:
        return None
    if raw.lower() not in ("true", "false"):
        raise errors.bad_request(f"Неверное значение параметра PostingModeOperational: '{raw}'")
    return raw.lower() == "true"


def record_payment(
    store: Store,
    order_ref: str,
    when: str | date | datetime,
    amount: float | None = None,
) -> str:
    """Load "the bank statement": a posted write-off based on the order; mark the order paid."""
    schema = store.schema
    order = store.get(PAYMENT_ORDER, order_ref)
    if order is None:
        raise KeyError(f"no payment order {order_ref}")
    moment = as_odata_date(when)
    total = order["СуммаДокумента"] if amount is None else amount
    body = {
        "Date": moment,
        "ВидОперации": "ОплатаПоставщику",
        "Организация_Key": order["Организация_Key"],
        "СчетОрганизации_Key": order["СчетОрганизации_Key"],
        "Контрагент": order["Контрагент"],
        "Контрагент_Type": order["Контрагент_Type"],
        "СчетКонтрагента_Key": order["СчетКонтрагента_Key"],
        "ДоговорКонтрагента_Key": order["ДоговорКонтрагента_Key"],
        "ВалютаДокумента_Key": order["ВалютаДокумента_Key"],
        "СуммаДокумента": total,
        "НазначениеПлатежа": order["НазначениеПлатежа"],
        "НомерВходящегоДокумента": order["Number"],
        "ДатаВходящегоДокумента": order["Date"],
        "ПроведеноБанком": True,
        "ДатаПроведенияБанком": moment,
        "ДокументОснование": order["Ref_Key"],
        "ДокументОснование_Type": f"StandardODATA.{PAYMENT_ORDER}",
        "РасшифровкаПлатежа": [
            {
                "LineNumber": "1",
                "ДоговорКонтрагента_Key": order["ДоговорКонтрагента_Key"],
                "СпособПогашенияЗадолженности": "Автоматически",
                "СуммаПлатежа": total,
                "КурсВзаиморасчетов": 1,
                "СуммаВзаиморасчетов": total,
                "СтавкаНДС": order["СтавкаНДС"],
                "СуммаНДС": order["СуммаНДС"],
            }
        ],
    }
    definition = schema[WRITE_OFF]
    write_off = store.create(definition, body)
    write_off["Posted"] = True
    store.touch(WRITE_OFF, write_off["Ref_Key"])

    if "Оплачено" in schema[PAYMENT_ORDER].props:
        order["Оплачено"] = True
        store.touch(PAYMENT_ORDER, order["Ref_Key"])
    states = schema[BANK_DOC_STATES]
    row = {
        "Организация_Key": order["Организация_Key"],
        "СсылкаНаОбъект": order["Ref_Key"],
        "СсылкаНаОбъект_Type": f"StandardODATA.{PAYMENT_ORDER}",
    }
    if order["Организация_Key"] != EMPTY_GUID:
        existing = store.get(BANK_DOC_STATES, store.record_key(states, row))
        if existing is None:
            store.create(states, {**row, "Состояние": "Оплачено"})
        else:
            store.update(states, existing, {"Состояние": "Оплачено"})
    return write_off["Ref_Key"]
