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
    region = State()  # the office's region, when the legal entity works in two or more
    client_type = State()
    inn = State()
    name = State()
    subject = State()
    amount = State()
    deal = State()
    file = State()
    summary = State()
    version = State()  # waiting for the next version of a returned contract
    # The annual contracts store: the client's name or INN (typed again to search again), the year.
    store_query = State()
    store_year = State()
    # Lines from the 1C catalogue, at the amount step: a word to search (or a found item picked),
    # the quantity, the price per unit, then another line or done.
    line_query = State()
    line_quantity = State()
    line_price = State()
    line_more = State()
