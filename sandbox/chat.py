"""A chat with Viza in the terminal, no Telegram account needed.

    python -m sandbox.chat [--data-dir DIR] [--port 8000] [--script FILE]

Starts the fake Bot API and ``viza serve``'s app on SQLite with the demo company, binds every
demo person to a fake Telegram user, and lets you talk to the bot as any of them:

    :as manager        speak as this person (:people lists them)
    /new, text ...     anything else is sent as a message
    :tap 2             tap button 2 of the newest message with buttons
    :tap Согласовать   tap the newest button whose text has that word
    :file invoice.pdf  send a file
    :wait 2            wait two seconds for slow answers (in scripts)
    :show              the last messages of this chat
    :quit

Messages the bot sends to other people show up too, marked with their name. The API is up at
http://127.0.0.1:PORT/api/v1/docs meanwhile (``viza token create`` for a token).
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import tempfile
from pathlib import Path

import uvicorn
from sqlalchemy import select

from backend.api.app import create_app
from backend.cli import prepare
from backend.db import Database
from backend.demo import load_demo
from backend.models import Employee
from backend.settings import Settings
from sandbox.telegram import FakeTelegram, RateLimits

FIRST_USER_ID = 700_000


class Session:
    def __init__(self, tg: FakeTelegram, people: dict[str, tuple[int, str, str]]) -> None:
        self.tg = tg
        self.people = people  # key → (telegram id, name, roles)
        self.current = "manager" if "manager" in people else next(iter(people))
        self.seen: dict[int, int] = {}  # message seq printed, per message id

    def user(self):
        telegram_id, name, _ = self.people[self.current]
        return self.tg.user(telegram_id, name.split()[0], language_code="ru")

    def print_new(self) -> None:
        names = {tid: name for tid, name, _ in self.people.values()}
        current_id = self.people[self.current][0]
        for activity in self.tg.state.activity:
            message = activity.message
            if activity.kind not in ("sent", "edited") or message is None or activity.seq in self.seen:
                continue
            self.seen[activity.seq] = 1
            who = "" if message.chat.id == current_id else f"[→ {names.get(message.chat.id, message.chat.id)}] "
            edited = "(edited) " if activity.kind == "edited" else ""
            body = message.text or message.caption or ""
            if message.document is not None:
                body = f"📎 {message.document.file_name} " + body
            print(f"\n{who}{edited}{body}")
            for index, (text, _) in enumerate((b for row in message.buttons for b in row), start=1):
                print(f"   [{index}] {text}")

    async def handle(self, line: str) -> bool:
        line = line.strip()
        if not line:
            return True
        if line in (":quit", ":q"):
            return False
        if line == ":people":
            for key, (_, name, roles) in self.people.items():
                print(f"  {key:16} {name} ({roles})")
            return True
        if line.startswith(":as "):
            key = line[4:].strip()
            if key not in self.people:
                print(f"no such person: {key}; :people lists them")
            else:
                self.current = key
                print(f"now speaking as {self.people[key][1]}")
            return True
        user = self.user()
        if line == ":show":
            for message in user.chat.messages[-8:]:
                print(("bot: " if message.from_bot else "you: ") + (message.text or message.caption or ""))
            return True
        if line.startswith(":tap "):
            target = line[5:].strip()
            with_buttons = [m for m in reversed(user.chat.bot_messages) if m.buttons]
            if not with_buttons:
                print("no buttons to tap")
                return True
            if target.isdigit():  # a number: on the newest message with buttons
                flat = [b for row in with_buttons[0].buttons for b in row]
                if not 1 <= int(target) <= len(flat):
                    print(f"no button {target}")
                    return True
                await user.tap(with_buttons[0], data=flat[int(target) - 1][1])
            else:  # a word: the newest button whose text has it
                found = next(((m, b) for m in with_buttons for row in m.buttons for b in row
                              if target.lower() in b[0].lower()), None)
                if found is None:
                    print(f"no button like {target!r}")
                    return True
                await user.tap(found[0], data=found[1][1])
        elif line.startswith(":wait"):  # scripts: give slow work (rendering a PDF) time to answer
            await asyncio.sleep(float(line[5:].strip() or 1))
        elif line.startswith(":file "):
            path = Path(shlex.split(line[6:])[0]).expanduser()
            if not path.is_file():
                print(f"no file {path}")
                return True
            await user.send_document(path.read_bytes(), filename=path.name)
        else:
            await user.send(line)
        await self.tg.idle(quiet=0.3, timeout=15)
        self.print_new()
        return True


async def bind_demo_people(db: Database) -> dict[str, tuple[int, str, str]]:
    people = {}
    async with db.session() as session:
        for index, employee in enumerate(await session.scalars(select(Employee).order_by(Employee.id))):
            employee.telegram_user_id = employee.telegram_user_id or FIRST_USER_ID + index
            key = _key(employee, people)
            people[key] = (employee.telegram_user_id, employee.full_name, ", ".join(employee.roles or []))
        await session.commit()
    return people


def _key(employee: Employee, taken: dict) -> str:
    base = {"director": "director", "cfo": "cfo", "admin": "admin", "accountant": "accountant"}.get(
        (employee.roles or ["manager"])[0], (employee.roles or ["manager"])[-1])
    if "approver" in (employee.roles or []) and "manager" in (employee.roles or []):
        base = "head"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}{n}", n + 1
    return key


async def main(data_dir: Path, port: int, script: Path | None) -> None:
    async with FakeTelegram(token="100200:SANDBOX", limits=RateLimits(private_burst=30)) as tg:
        # The fake allows a burst of 30 per chat (a person at a terminal is slow); pace to match.
        settings = Settings(data_dir=data_dir, telegram_token=tg.token, telegram_api_url=tg.base_url,
                            telegram_burst_chat=20, web_url=f"http://127.0.0.1:{port}")
        await asyncio.to_thread(prepare, settings)  # it runs its own event loop
        print(await load_demo(settings))
        db = Database(settings.effective_database_url)
        people = await bind_demo_people(db)
        for telegram_id, name, _ in people.values():
            tg.user(telegram_id, name.split()[0], language_code="ru", started=True)
        server = uvicorn.Server(uvicorn.Config(create_app(settings, db), host="127.0.0.1", port=port,
                                               log_level="warning"))
        task = asyncio.create_task(server.serve())
        while not server.started and not task.done():
            await asyncio.sleep(0.05)
        chat = Session(tg, people)
        print(f"\nViza is up: API http://127.0.0.1:{port}/api/v1/docs, pages http://127.0.0.1:{port}/ (send /web "
              f"for a sign-in link) — you are {people[chat.current][1]}. :people, :as <who>, :tap N, :file PATH, :quit")
        await tg.idle(quiet=0.5, timeout=20)
        chat.seen = {a.seq: 1 for a in tg.state.activity}  # start with a clean screen
        lines = script.read_text(encoding="utf-8").splitlines() if script else None
        try:
            while True:
                if lines is not None:
                    if not lines:
                        break
                    line = lines.pop(0)
                    print(f"\n{chat.current}> {line}")
                else:
                    line = await asyncio.to_thread(input, f"\n{chat.current}> ")
                if not await chat.handle(line):
                    break
        except (EOFError, KeyboardInterrupt):
            pass
        finally:
            server.should_exit = True
            await task
            await db.dispose()


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=None, help="default: a fresh temporary folder")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--script", type=Path, default=None, help="lines to play instead of typing")
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="viza-chat-")) / "data"
    asyncio.run(main(data_dir, args.port, args.script))


if __name__ == "__main__":
    run()
