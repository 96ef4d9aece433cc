"""Words of the analytics pages (ru)."""

TEXTS: dict[str, str] = {
}
