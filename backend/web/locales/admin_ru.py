"""Words of the admin pages (ru)."""

TEXTS: dict[str, str] = {
}
