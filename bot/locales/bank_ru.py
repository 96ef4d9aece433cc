"""Тексты бота на русском: файлы банка (выгрузка платёжек, загрузка выписки)."""

TEXTS: dict[str, str] = {
    "btn.bank_export": "🏦 Выгрузить в банк",
    "bank.ask_entity": "Заявки платят несколько юрлиц, а файл для банка делается по одному счёту. Из какого юрлица выгрузить?",
    "bank.entity_choice": "{name} · {count} шт. · {total}",
    "bank.file_caption": "🏦 Платёжные поручения: {count} шт. на {total}\n{entity}, счёт {account}\n"
                         "Загрузите файл в клиент-банк (импорт из 1С).",
    "bank.no_vat": "⚠️ В назначении не сказано про НДС: {numbers} — банк может переспросить.",
    "bank.statement_title": "📥 Выписка: {accounts}, {period}",
    "bank.unknown_accounts": "⚠️ Счёт {accounts} не указан ни у одного юрлица — платежи с него не сопоставить. Добавьте счёт в карточку юрлица.",
    "bank.statement_nothing": "В выписке нет платёжных документов — отмечать нечего.",
    "bank.matched": "✅ Отмечены оплаченными — {count}:",
    "bank.matched_line": "• /r{id} {number} · {amount} · {recipient} · оплачено {day}",
    "bank.already_paid": "▫️ Уже были оплачены — {count}:",
    "bank.already_paid_line": "• /r{id} {number} · {amount} · оплачено {day}",
    "bank.unmatched": "⚠️ Не сопоставлены — {count}:",
    "bank.unmatched_line": "• п/п № {number} от {day} · {amount} · {recipient}: {reason}",
    "bank.ignored": "Пропущены — {count}: {reasons}.",
    "bank.ignored_reason": "{reason} ({count})",
    "bank.more": "…и ещё {count}",
}
