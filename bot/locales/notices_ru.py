"""Тексты бота на русском: notices, reminders and digests."""

TEXTS: dict[str, str] = {
    # reminders and escalation
    "notice.sla_reminder": "⏰ Напоминание: /r{id} {number} ({amount}, {contractor}) ждёт вашего решения {waited} "
                           "(с {since}). Срок этапа «{stage}» — {sla} раб. ч.",
    "notice.escalation": "🔺 Эскалация: /r{id} {number} ({amount}, {contractor}) ждёт решения уже {waited} "
                         "(с {since}) при сроке этапа «{stage}» {sla} раб. ч. Согласующий: {approver}",
    "notice.escalated": "🔺 /r{id} {number} ({amount}, {contractor}) ждёт вашего решения {waited} (с {since}) при сроке "
                        "{sla} раб. ч — об этом сообщено руководителю ({head}).",
    "notice.waited_days": "{days} дн. {hours} ч",
    "notice.waited_hours": "{hours} ч",
    "notice.waited_minutes": "меньше часа",
    # pay-by deadlines
    "notice.pay_due_next": "📅 Срок оплаты — следующий рабочий день ({count}):",
    "notice.pay_due_today": "⏳ Сегодня последний день оплаты ({count}):",
    "notice.pay_overdue": "🔥 Просрочена оплата ({count}):",
    "notice.request_line": "• /r{id} {number} · {amount} · {contractor} · до {day}",
    "notice.pay_total": "Итого: {total}",
    "notice.pay_open": "Очередь на оплату: /pay",
    # the morning digest
    "notice.digest_title": "☀️ Доброе утро! Что ждёт вас сегодня:",
    "notice.digest_inbox": "• Ждут вашего решения: {count}. Дольше всех ждёт /r{id} {number} ({amount}, "
                           "{contractor}) — {waited}. Открыть: /inbox",
    "notice.digest_returned": "• Вернули вам на доработку: {count} ({numbers}). Открыть: /my",
    "notice.digest_pay": "• К оплате сегодня: {today}, просрочено: {overdue}. Открыть: /pay",
    # to admins
    "notice.recipient_unreachable": "⚠️ {name} заблокировал(а) бота: уведомления и карточки согласования до него "
                                    "не доходят, пока он(а) снова не напишет боту.",
}
