"""The dialogs' steps. States live in the database (bot/storage.py), so a restart resumes them."""

from aiogram.fsm.state import State, StatesGroup


class NewRequest(StatesGroup):
    type = State()
    entity = State()
    inn = State()
    name = State()
    kpp = State()
    bik = State()
    account = State()
    amount = State()
    pay_by = State()
    purpose = State()
    file = State()
    summary = State()


class Decision(StatesGroup):
    """A decision that needs words (reject, return, comment), or the name of an approver to add."""

    comment = State()
    approver = State()


class Payment(StatesGroup):
    date = State()
    order = State()


class ContractDialog(StatesGroup):
    """A contract approval: /contract (or a DOCX sent to the bot), and a new version of a returned one."""

    entity = State()
    client_type = State()
    inn = State()
    name = State()
    subject = State()
    amount = State()
    deal = State()
    file = State()
    summary = State()
    version = State()  # waiting for the next version of a returned contract
