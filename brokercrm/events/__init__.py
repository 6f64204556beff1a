"""Domain events and their transactional outbox.

A lower app announces what happened (`bus.announce`) inside the transaction that made it
happen; higher apps subscribe in their `AppConfig.ready()` (`registry.subscribe`). See
docs/adr/0011-domain-events-and-outbox.md."""
