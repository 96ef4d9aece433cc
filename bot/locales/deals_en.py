"""The bot's English texts: /deal — a Bitrix24 deal as accounting sees it."""

TEXTS: dict[str, str] = {
    "command.deal": "Bitrix24 deal: contract and closing",
    "deal.usage": "Write the Bitrix24 deal number: /deal 42",
    "deal.title": "🤝 Deal #{deal_id} in Bitrix24",
    "deal.stage": "Stage (last known): {stage}",
    "deal.stage_unknown": "Stage: Bitrix24 has not told us about this deal yet",
    "deal.contract_yes": "✅ Contract approved by accounting {at}",
    "deal.contract_no": "⏳ Contract not approved — the deal cannot go in work",
    "deal.closing_yes": "✅ Closing documents and full payment confirmed {at}",
    "deal.closing_no": "⏳ Closing not confirmed — the deal cannot be won",
    "deal.requests": "Payment requests of the deal: {summary}",
    "deal.requests_none": "No payment requests for this deal",
    "deal.approve_contract": "✅ Contract approved",
    "deal.withdraw_contract": "↩️ Withdraw the contract approval",
    "deal.confirm_closing": "✅ Confirm the closing",
    "deal.withdraw_closing": "↩️ Withdraw the closing confirmation",
    "deal.saved": "Saved.",
}
