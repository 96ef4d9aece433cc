"""Тексты бота на русском: /vacation and /settings."""

TEXTS: dict[str, str] = {
    "command.vacation": "Замещение на время отпуска",
    "command.settings": "Часовой пояс, тихие часы, язык",
    # /vacation
    "vacation.title": "🏖 Замещение на время отсутствия",
    "vacation.none": "Замещений нет — все согласования приходят вам.",
    "vacation.row": "• {starts} – {ends}: за вас согласует {deputy}",
    "vacation.row_now": "• {starts} – {ends}: за вас согласует {deputy} (действует сейчас)",
    "vacation.covering": "Вы замещаете:",
    "vacation.covering_row": "• {employee}: {starts} – {ends}",
    "vacation.hint": "Пока замещение действует, ваши согласования — и уже ждущие, и новые — получает заместитель, "
                     "а в истории заявки видно, что он согласовал за вас. После последнего дня всё вернётся к вам само.",
    "vacation.ask_start": "С какого дня вас не будет? Выберите день или напишите дату (например, 01.12.2026).",
    "vacation.ask_end": "По какой день включительно? Выберите день или напишите дату.",
    "vacation.ask_deputy": "Кто будет согласовывать за вас? Напишите часть фамилии.",
    "vacation.deputy_none": "Никого не нашёл. Попробуйте другую часть фамилии.",
    "vacation.deputy_pick": "Выберите заместителя:",
    "vacation.summary": "Проверьте:\nс {starts} по {ends} ваши согласования получает {deputy}.\n"
                        "То, что уже ждёт вашего решения, перейдёт к заместителю в первый день замещения, "
                        "а после последнего дня вернётся к вам.",
    "vacation.created": "Готово: с {starts} по {ends} за вас согласует {deputy}. /vacation — посмотреть или отменить.",
    "vacation.cancelled": "Замещение отменено — согласования снова приходят вам.",
    "btn.vacation_new": "➕ Новое замещение",
    "btn.vacation_cancel": "🚫 Отменить {starts} – {ends}",
    "btn.vacation_confirm": "✅ Подтвердить",
    # /settings
    "settings.title": "⚙️ Настройки",
    "settings.row_timezone": "🕒 Часовой пояс: {zone} — у вас сейчас {time}",
    "settings.row_quiet_on": "🌙 Тихие часы: {window} — в это время приходит только срочное",
    "settings.row_quiet_off": "🌙 Тихие часы: выключены",
    "settings.row_digest_on": "📰 Утренняя сводка: включена",
    "settings.row_digest_off": "📰 Утренняя сводка: выключена",
    "settings.row_language": "🌐 Язык: {language}",
    "settings.zone_cities": "Калининград,Москва,Самара,Екатеринбург,Омск,Новосибирск,Иркутск,Якутск,Владивосток,"
                            "Магадан,Камчатка",
    "settings.msk": "МСК",
    "settings.ask_timezone": "Напишите город, смещение или зону, например: Новосибирск, МСК+4, UTC+7 или Asia/Novosibirsk.",
    "settings.ask_quiet": "В какие часы не беспокоить? Напишите по своему времени, например 22:00-08:00. "
                          "Срочное (срок оплаты сегодня) придёт всё равно.",
    "settings.saved": "Сохранено ✅",
    "btn.settings_timezone": "🕒 Часовой пояс",
    "btn.settings_quiet": "🌙 Тихие часы",
    "btn.settings_digest_on": "📰 Включить сводку",
    "btn.settings_digest_off": "📰 Выключить сводку",
    "btn.settings_language": "🌐 Язык / Language",
    "btn.settings_zone_other": "✏️ Другой — напишу",
    "btn.settings_quiet_off": "Выключить тихие часы",
    "btn.settings_back": "‹ Назад",
}
