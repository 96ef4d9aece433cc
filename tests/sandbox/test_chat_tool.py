"""`python -m sandbox.chat` — the terminal chat newcomers try the bot with — still plays a script."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_scripted_chat_creates_a_request_and_the_approver_gets_the_card(tmp_path):
    script = tmp_path / "walk.txt"
    script.write_text("\n".join(["/new", ":tap Оплата поставщику", ":tap Медика Групп", "7707083893",
                                 "ООО «Бумажный мир»", ":tap Без КПП", "044525225", "40702810200000000001",
                                 "15000", (date.today() + timedelta(days=10)).strftime("%d.%m.%Y"), "Оплата по счёту № 7", ":tap Без счёта",
                                 ":tap Отправить", ":as head", "/inbox", ":quit"]), encoding="utf-8")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = subprocess.run([sys.executable, "-m", "sandbox.chat", "--port", str(port), "--script", str(script),
                             "--data-dir", str(tmp_path / "data")], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "создана — статус: На согласовании" in result.stdout, result.stdout[-3000:]
    assert "[→ Андрей Волков]" in result.stdout and "✅ Согласовать" in result.stdout
    assert "Ждут вашего решения (2)" in result.stdout, result.stdout[-2000:]
