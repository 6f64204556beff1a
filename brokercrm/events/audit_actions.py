"""What the event outbox records in the audit log (`events.*`)."""

# Staff sent a parked delivery to its subscriber again.
DELIVERY_REPLAYED = "events.delivery_replayed"
