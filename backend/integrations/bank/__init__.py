"""Bank files: the 1CClientBankExchange text format bank clients read and write (:mod:`.clientbank`)."""
