"""The bot's English texts: /vacation and /settings."""

TEXTS: dict[str, str] = {
    "command.vacation": "A deputy while I am away",
    "command.settings": "Time zone, quiet hours, language",
    # /vacation
    "vacation.title": "🏖 A deputy while you are away",
    "vacation.none": "No deputy set — all approvals come to you.",
    "vacation.row": "• {starts} – {ends}: {deputy} approves for you",
    "vacation.row_now": "• {starts} – {ends}: {deputy} approves for you (in force now)",
    "vacation.covering": "You stand in for:",
    "vacation.covering_row": "• {employee}: {starts} – {ends}",
    "vacation.hint": "While it is in force your approvals — those already waiting and new ones — go to the deputy, "
                     "and the request's history shows they approved for you. After the last day it all comes back "
                     "to you by itself.",
    "vacation.ask_start": "From which day are you away? Pick a day or type a date (e.g. 2026-12-01).",
    "vacation.ask_end": "Until which day, inclusive? Pick a day or type a date.",
    "vacation.ask_deputy": "Who approves for you? Type part of their surname.",
    "vacation.deputy_none": "Nobody found. Try another part of the surname.",
    "vacation.deputy_pick": "Pick the deputy:",
    "vacation.summary": "Please check:\nfrom {starts} to {ends} {deputy} gets your approvals.\n"
                        "What already waits for your decision moves to the deputy on the first day "
                        "and comes back to you after the last one.",
    "vacation.created": "Done: from {starts} to {ends} {deputy} approves for you. /vacation — see or cancel.",
    "vacation.cancelled": "Cancelled — approvals come to you again.",
    "btn.vacation_new": "➕ New deputy",
    "btn.vacation_cancel": "🚫 Cancel {starts} – {ends}",
    "btn.vacation_confirm": "✅ Confirm",
    # /settings
    "settings.title": "⚙️ Settings",
    "settings.row_timezone": "🕒 Time zone: {zone} — your time now is {time}",
    "settings.row_quiet_on": "🌙 Quiet hours: {window} — only urgent notices then",
    "settings.row_quiet_off": "🌙 Quiet hours: off",
    "settings.row_digest_on": "📰 Morning digest: on",
    "settings.row_digest_off": "📰 Morning digest: off",
    "settings.row_language": "🌐 Language: {language}",
    "settings.zone_cities": "Kaliningrad,Moscow,Samara,Yekaterinburg,Omsk,Novosibirsk,Irkutsk,Yakutsk,Vladivostok,"
                            "Magadan,Kamchatka",
    "settings.msk": "MSK",
    "settings.ask_timezone": "Type a city, an offset or a zone, e.g. Novosibirsk, MSK+4, UTC+7 or Asia/Novosibirsk.",
    "settings.ask_quiet": "Which hours should stay quiet? In your own time, e.g. 22:00-08:00. "
                          "Urgent notices (payment due today) come anyway.",
    "settings.saved": "Saved ✅",
    "btn.settings_timezone": "🕒 Time zone",
    "btn.settings_quiet": "🌙 Quiet hours",
    "btn.settings_digest_on": "📰 Turn the digest on",
    "btn.settings_digest_off": "📰 Turn the digest off",
    "btn.settings_language": "🌐 Язык / Language",
    "btn.settings_zone_other": "✏️ Another — I'll type it",
    "btn.settings_quiet_off": "Turn quiet hours off",
    "btn.settings_back": "‹ Back",
}
