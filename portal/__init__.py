"""Client self-registration portal."""
