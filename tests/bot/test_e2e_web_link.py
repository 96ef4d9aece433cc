"""/web in chat: a one-time link that signs the person in to the pages of the same server."""

from __future__ import annotations

import re

import httpx

from tests.bot.conftest import Viza, say


async def test_web_link_signs_in_the_person_who_asked(viza: Viza):
    await viza.bind("accountant")
    reply = await say(viza, "accountant", "/web", "Ссылка для входа")
    link = re.search(r"(http://\S+/login/link/[\w-]+)", reply.text).group(1)
    assert link.startswith(viza.base_url)
    assert "10 мин" in reply.text
    async with httpx.AsyncClient() as browser:
        confirm = await browser.get(link)
        assert confirm.status_code == 200 and "Бухова Б.Б." in confirm.text
        signed = await browser.post(link)
        assert signed.status_code == 303
        page = await browser.get(viza.base_url + "/registry")
        assert page.status_code == 200 and "Бухова Б.Б." in page.text
    async with httpx.AsyncClient() as someone_else:
        assert (await someone_else.post(link)).status_code == 410


async def test_each_web_command_gives_a_new_link(viza: Viza):
    await viza.bind("manager")
    first = await say(viza, "manager", "/web", "Ссылка для входа")
    second = await say(viza, "manager", "/web", "Ссылка для входа")
    assert re.search(r"/login/link/([\w-]+)", first.text).group(1) != re.search(r"/login/link/([\w-]+)", second.text).group(1)
    help_reply = await say(viza, "manager", "/help", "/web")
    assert "войти на сайт" in help_reply.text
