"""/settings: the card of one's preferences; buttons change them in place, typed values are checked
by the core, and a new language is spoken from the very next answer."""

from __future__ import annotations

from tests.bot.conftest import Viza, say


async def open_card(viza: Viza):
    """The manager, bound, and the /settings card they asked for."""
    await viza.bind("manager")
    return viza["manager"], await say(viza, "manager", "/settings", "⚙️ Настройки")


async def open_choices(viza: Viza, card, button: str, *, showing: str) -> None:
    """Tap a card's ``button`` and wait until its list, with ``showing`` in it, replaces the buttons."""
    await viza["manager"].tap(card, text=button)
    await viza.tg.wait_for(lambda: showing in card.button_texts)


async def test_the_card_shows_and_changes_each_setting(viza: Viza):
    manager, card = await open_card(viza)
    assert "Часовой пояс: Москва (МСК)" in card.text
    assert "Тихие часы: выключены" in card.text and "Утренняя сводка: включена" in card.text
    assert "Язык: Русский" in card.text

    await open_choices(viza, card, "🕒 Часовой пояс", showing="Екатеринбург (МСК+2)")
    assert "Калининград (МСК−1)" in card.button_texts and "✏️ Другой — напишу" in card.button_texts
    tap = await manager.tap(card, text="Екатеринбург (МСК+2)")
    assert await tap.wait() == "Сохранено ✅"
    await viza.tg.wait_for(lambda: "Часовой пояс: Екатеринбург (МСК+2)" in card.text)
    assert "🕒 Часовой пояс" in card.button_texts  # the card's own buttons are back

    await manager.tap(card, text="📰 Выключить сводку")
    await viza.tg.wait_for(lambda: "Утренняя сводка: выключена" in card.text)
    assert "📰 Включить сводку" in card.button_texts

    employee = await viza.employee("manager")
    assert (employee.timezone, employee.digest_enabled) == ("Asia/Yekaterinburg", False)


async def test_a_new_language_is_spoken_at_once(viza: Viza):
    manager, card = await open_card(viza)
    await open_choices(viza, card, "🌐 Язык / Language", showing="English")
    tap = await manager.tap(card, text="English")
    assert await tap.wait() == "Saved ✅"
    await viza.tg.wait_for(lambda: (card.text or "").startswith("⚙️ Settings"))
    assert "Language: English" in card.text and "Time zone: Moscow (MSK)" in card.text

    help_text = await say(viza, "manager", "/help", "What I can do")
    assert "/vacation — a deputy while I am away" in help_text.text
    assert (await viza.employee("manager")).language == "en"


async def test_typed_values_are_checked_and_named(viza: Viza):
    manager, card = await open_card(viza)

    await open_choices(viza, card, "🕒 Часовой пояс", showing="✏️ Другой — напишу")
    before = len(manager.chat.bot_messages)
    await manager.tap(card, text="✏️ Другой — напишу")
    await viza.tg.wait_for(lambda: any("Напишите город" in (m.text or "") for m in manager.chat.bot_messages[before:]))
    await say(viza, "manager", "Марс", "Часовой пояс: не знаю такого — «Марс». Напишите город (Москва, Екатеринбург)")
    saved = await say(viza, "manager", "UTC+7", "Сохранено ✅")
    assert "Часовой пояс: Новосибирск (МСК+4)" in saved.text

    await manager.tap(saved, text="🌙 Тихие часы")
    await viza.tg.wait_for(lambda: any("В какие часы не беспокоить" in (m.text or "") for m in manager.chat.bot_messages))
    await say(viza, "manager", "после обеда", "Тихие часы: напишите время «с–по», например 22:00-08:00")
    await say(viza, "manager", "22:00-22:00", "Тихие часы: начало и конец совпадают")
    quiet = await say(viza, "manager", "23:00-7:30", "Сохранено ✅")
    assert "Тихие часы: 23:00–07:30" in quiet.text
    assert (await viza.employee("manager")).quiet_hours == "23:00-07:30"

    # Off again, by the prompt's button; the next words are not taken for quiet hours.
    await manager.tap(quiet, text="🌙 Тихие часы")
    await viza.tg.wait_for(lambda: len([m for m in manager.chat.bot_messages
                                        if "В какие часы не беспокоить" in (m.text or "")]) == 2)
    prompt = [m for m in manager.chat.bot_messages if "В какие часы не беспокоить" in (m.text or "")][-1]
    await manager.tap(prompt, text="Выключить тихие часы")
    await viza.tg.wait_for(lambda: "Тихие часы: выключены" in (manager.last_bot_message.text or ""))
    assert (await viza.employee("manager")).quiet_hours == ""
    await say(viza, "manager", "22:00-08:00", "Не понял")
