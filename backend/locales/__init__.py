"""Message catalogues, one module per language, keyed by message code."""
