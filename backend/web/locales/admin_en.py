"""Words of the admin pages (en)."""

TEXTS: dict[str, str] = {
}
