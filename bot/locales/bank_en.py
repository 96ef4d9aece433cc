"""The bot's English texts: bank files (payment orders out, a statement in)."""

TEXTS: dict[str, str] = {
    "btn.bank_export": "🏦 Bank file",
    "bank.ask_entity": "Several legal entities pay these requests, and a bank file is for one account. Which one?",
    "bank.entity_choice": "{name} · {count} · {total}",
    "bank.file_caption": "🏦 Payment orders: {count} for {total}\n{entity}, account {account}\n"
                         "Load the file into the bank client (import from 1C).",
    "bank.no_vat": "⚠️ The purpose says nothing of VAT: {numbers} — the bank may ask.",
    "bank.statement_title": "📥 Statement: {accounts}, {period}",
    "bank.unknown_accounts": "⚠️ Account {accounts} belongs to no legal entity here — payments from it cannot be matched. Add it to the legal entity.",
    "bank.statement_nothing": "The statement holds no payment documents — nothing to mark.",
    "bank.matched": "✅ Marked paid — {count}:",
    "bank.matched_line": "• /r{id} {number} · {amount} · {recipient} · paid {day}",
    "bank.already_paid": "▫️ Already paid — {count}:",
    "bank.already_paid_line": "• /r{id} {number} · {amount} · paid {day}",
    "bank.unmatched": "⚠️ Not matched — {count}:",
    "bank.unmatched_line": "• order {number} of {day} · {amount} · {recipient}: {reason}",
    "bank.ignored": "Skipped — {count}: {reasons}.",
    "bank.ignored_reason": "{reason} ({count})",
    "bank.more": "…and {count} more",
}
