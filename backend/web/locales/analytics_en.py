"""Words of the analytics pages (en)."""

TEXTS: dict[str, str] = {
}
