"""/settings: one's time zone, quiet hours, morning digest and language, on one card.

Buttons change what has a short list of values (Russia's time zones, the digest, the language)
in place on the card; a zone from elsewhere and quiet hours are typed. Every change goes through
the same use case as ``PATCH /api/v1/me/preferences``, so a typo gets the core's own error, and
the middleware reads the employee afresh for every update, so the next message already speaks
the new language (this one too: the card is redrawn in it).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from backend.models import Employee
from backend.services.core import Core
from backend.services.preferences import (
    LANGUAGES,
    RUSSIAN_ZONES,
    PreferencesFields,
    get_preferences,
    update_preferences,
)
from bot.keyboards.common import cancel_row
from bot.texts import Texts

router = Router(name="settings")
LANGUAGE_NAMES = {"ru": "Русский", "en": "English"}  # each in its own language


class SettingsForm(StatesGroup):
    timezone = State()
    quiet_hours = State()


class SettingsCb(CallbackData, prefix="set"):
    """``tz`` / ``lang`` open a list, ``zone`` / ``language`` pick from it (``value``), ``typezone`` and
    ``quiet`` ask for text, ``quietoff`` and ``digest`` change at once, ``back`` shows the card's buttons."""

    act: str
    value: str = ""


def _button(text: str, act: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=SettingsCb(act=act, value=value).pack())


def _msk(t: Texts, shift: int) -> str:
    return t("settings.msk") + (f"{shift:+d}".replace("-", "−") if shift else "")


def russian_zones(t: Texts) -> dict[str, str]:
    """Russia's zones, west to east, each with its name here: "Екатеринбург (МСК+2)"."""
    cities = t("settings.zone_cities").split(",")
    return {zone: f"{city} ({_msk(t, shift)})" for (shift, zone), city in zip(sorted(RUSSIAN_ZONES.items()), cities)}


def zone_name(t: Texts, zone: str) -> str:
    """"Екатеринбург (МСК+2)" for Russia's zones, the IANA name for the rest."""
    return russian_zones(t).get(zone, zone)


def card_text(t: Texts, employee: Employee) -> str:
    now = datetime.now(ZoneInfo(employee.timezone)).strftime("%H:%M")
    quiet = (t("settings.row_quiet_on", window=employee.quiet_hours.replace("-", "–")) if employee.quiet_hours
             else t("settings.row_quiet_off"))
    return "\n".join([
        t("settings.title"),
        t("settings.row_timezone", zone=zone_name(t, employee.timezone), time=now),
        quiet,
        t("settings.row_digest_on") if employee.digest_enabled else t("settings.row_digest_off"),
        t("settings.row_language", language=LANGUAGE_NAMES.get(employee.language, employee.language)),
    ])


def card_buttons(t: Texts, employee: Employee) -> InlineKeyboardMarkup:
    digest = t("btn.settings_digest_off") if employee.digest_enabled else t("btn.settings_digest_on")
    return InlineKeyboardMarkup(inline_keyboard=[
        [_button(t("btn.settings_timezone"), "tz"), _button(t("btn.settings_quiet"), "quiet")],
        [_button(digest, "digest"), _button(t("btn.settings_language"), "lang")],
    ])


def zone_buttons(t: Texts) -> InlineKeyboardMarkup:
    buttons = [_button(name, "zone", zone) for zone, name in russian_zones(t).items()]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    rows += [[_button(t("btn.settings_zone_other"), "typezone")], [_button(t("btn.settings_back"), "back")]]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def language_buttons(t: Texts) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[
        [_button(LANGUAGE_NAMES[lang], "language", lang) for lang in LANGUAGES],
        [_button(t("btn.settings_back"), "back")],
    ])


async def _save(core: Core, **values) -> Employee:
    return await core.call(update_preferences, core.actor, PreferencesFields(**values))


async def _send_card(message: Message, t: Texts, employee: Employee, *, saved: bool = False) -> None:
    text = card_text(t, employee)
    await message.answer(f"{t('settings.saved')}\n\n{text}" if saved else text, reply_markup=card_buttons(t, employee))


@router.message(Command("settings"))
async def show_card(message: Message, state: FSMContext, core: Core, t: Texts) -> None:
    if (await state.get_state() or "").startswith(SettingsForm.__name__):
        await state.clear()
    employee = await core.call(get_preferences, core.actor)
    await _send_card(message, t, employee)


@router.callback_query(SettingsCb.filter(F.act.in_({"tz", "lang", "back"})))
async def show_choices(query: CallbackQuery, callback_data: SettingsCb, core: Core, t: Texts) -> None:
    await query.answer()
    if callback_data.act == "tz":
        await query.message.edit_reply_markup(reply_markup=zone_buttons(t))
    elif callback_data.act == "lang":
        await query.message.edit_reply_markup(reply_markup=language_buttons(t))
    else:
        employee = await core.call(get_preferences, core.actor)
        await query.message.edit_text(card_text(t, employee), reply_markup=card_buttons(t, employee))


@router.callback_query(SettingsCb.filter(F.act.in_({"zone", "language", "digest"})))
async def change_on_card(query: CallbackQuery, callback_data: SettingsCb, core: Core, t: Texts) -> None:
    if callback_data.act == "zone":
        employee = await _save(core, timezone=callback_data.value)
    elif callback_data.act == "language":
        employee = await _save(core, language=callback_data.value)
        t = Texts(employee.language)  # answer in the language just chosen
    else:
        async def toggle(session):
            current = await get_preferences(session, core.actor)
            return await update_preferences(session, core.actor, PreferencesFields(digest_enabled=not current.digest_enabled))

        employee = await core.run(toggle)
    await query.answer(t("settings.saved"))
    await query.message.edit_text(card_text(t, employee), reply_markup=card_buttons(t, employee))


@router.callback_query(SettingsCb.filter(F.act.in_({"typezone", "quiet"})))
async def ask_text(query: CallbackQuery, callback_data: SettingsCb, state: FSMContext, t: Texts) -> None:
    await query.answer()
    cancel = cancel_row(t)
    if callback_data.act == "typezone":
        await state.set_state(SettingsForm.timezone)
        await query.message.answer(t("settings.ask_timezone"), reply_markup=InlineKeyboardMarkup(inline_keyboard=[cancel]))
    else:
        await state.set_state(SettingsForm.quiet_hours)
        await query.message.answer(t("settings.ask_quiet"), reply_markup=InlineKeyboardMarkup(inline_keyboard=[
            [_button(t("btn.settings_quiet_off"), "quietoff")], cancel]))


@router.callback_query(SettingsCb.filter(F.act == "quietoff"))
async def quiet_off(query: CallbackQuery, state: FSMContext, core: Core, t: Texts) -> None:
    employee = await _save(core, quiet_hours="")
    if await state.get_state() == SettingsForm.quiet_hours.state:
        await state.clear()
    await query.answer(t("settings.saved"))
    await query.message.edit_reply_markup(reply_markup=None)
    await _send_card(query.message, t, employee, saved=True)


@router.message(StateFilter(SettingsForm.timezone, SettingsForm.quiet_hours), F.text, ~F.text.startswith("/"))
async def typed(message: Message, state: FSMContext, core: Core, t: Texts) -> None:
    field = "timezone" if await state.get_state() == SettingsForm.timezone.state else "quiet_hours"
    employee = await _save(core, **{field: message.text})  # a refusal is answered by DomainErrors; asked again
    await state.clear()
    await _send_card(message, t, employee, saved=True)


@router.message(StateFilter(SettingsForm.timezone, SettingsForm.quiet_hours), ~F.text)
async def need_text(message: Message, t: Texts) -> None:
    await message.answer(t("new.need_text"))
