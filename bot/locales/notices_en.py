"""The bot's English texts: notices, reminders and digests."""

TEXTS: dict[str, str] = {
    # reminders and escalation
    "notice.sla_reminder": "⏰ Reminder: /r{id} {number} ({amount}, {contractor}) has waited for your decision {waited} "
                           "(since {since}). The SLA of stage “{stage}” is {sla} working hours.",
    "notice.escalation": "🔺 Escalation: /r{id} {number} ({amount}, {contractor}) has waited for {approver} to decide "
                         "for {waited} (since {since}); the SLA of stage “{stage}” is {sla} working hours.",
    "notice.escalated": "🔺 /r{id} {number} ({amount}, {contractor}) has waited for your decision {waited} "
                        "(since {since}), past its SLA of {sla} working hours; your manager ({head}) has been told.",
    "notice.waited_days": "{days} d {hours} h",
    "notice.waited_hours": "{hours} h",
    "notice.waited_minutes": "less than an hour",
    # pay-by deadlines
    "notice.pay_due_next": "📅 Due for payment the next working day ({count}):",
    "notice.pay_due_today": "⏳ Today is the last day to pay ({count}):",
    "notice.pay_overdue": "🔥 Payment overdue ({count}):",
    "notice.request_line": "• /r{id} {number} · {amount} · {contractor} · by {day}",
    "notice.pay_total": "Total: {total}",
    "notice.pay_open": "Payment queue: /pay",
    # the morning digest
    "notice.digest_title": "☀️ Good morning! What waits for you today:",
    "notice.digest_inbox": "• Waiting for your decision: {count}. Waiting longest: /r{id} {number} ({amount}, "
                           "{contractor}) — {waited}. Open: /inbox",
    "notice.digest_returned": "• Returned to you for rework: {count} ({numbers}). Open: /my",
    "notice.digest_pay": "• To pay today: {today}, overdue: {overdue}. Open: /pay",
    # to admins
    "notice.recipient_unreachable": "⚠️ {name} has blocked the bot: notices and approval cards do not reach them "
                                    "until they write to the bot again.",
    # Bitrix24 and 1C
    "notice.deal_stage_blocked": "🚫 Deal “{title}” (#{deal_id}) cannot move to stage “{stage}”: {reason}",
    "notice.deal_stage_moved_back": "The deal was moved back to stage “{back_to}”. Accounting: /deal {deal_id}",
    "notice.deal_stage_left": "It could not be moved back: its previous stage is unknown — check it in Bitrix24.",
    "gate.no_approved_contract": "the deal's contract is not approved by accounting yet. Send the contract for approval first.",
    "gate.closing_not_confirmed": "accounting has not confirmed the closing documents and full payment yet.",
    "notice.bitrix24_duplicates": "⚠️ Bitrix24 has several companies with INN {inn}{kpp}: {companies}. Viza linked "
                                  "requests to the first ({first}); merge the duplicates so the 1C sync does not mix them up.",
    "notice.integration_unavailable": "⚠️ {system}: no access — {error}. The sync waits; nothing is lost.",
}
