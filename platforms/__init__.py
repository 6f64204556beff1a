"""Trading servers, connectors, accounts and sync."""
