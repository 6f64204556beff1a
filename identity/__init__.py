"""Group-level persons, entity client profiles, matching and duplicate review."""
