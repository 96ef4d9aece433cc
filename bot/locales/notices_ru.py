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
    # Bitrix24 and 1C
    "notice.deal_stage_blocked": "🚫 Сделку «{title}» (№{deal_id}) нельзя перевести на стадию «{stage}»: {reason}",
    "notice.deal_stage_moved_back": "Сделка возвращена на стадию «{back_to}». Бухгалтерии: /deal {deal_id}",
    "notice.deal_stage_left": "Вернуть сделку не удалось: прежняя стадия неизвестна — проверьте её в Битрикс24.",
    "gate.no_approved_contract": "договор по сделке ещё не согласован бухгалтером. Сначала отправьте договор на согласование.",
    "gate.closing_not_confirmed": "бухгалтер ещё не подтвердил закрывающие документы и полную оплату.",
    "notice.bitrix24_duplicates": "⚠️ В Битрикс24 несколько компаний с ИНН {inn}{kpp}: {companies}. Viza связала "
                                  "заявки с первой ({first}); объедините дубликаты, чтобы синхронизация с 1С не путалась.",
    "notice.integration_unavailable": "⚠️ {system}: нет доступа — {error}. Синхронизация ждёт; ничего не потеряно.",
}
