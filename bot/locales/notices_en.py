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
}
