"""What the entities app records in the audit log (`entities.*`)."""

ENTITY_CREATED = "entities.entity_created"
ENTITY_UPDATED = "entities.entity_updated"
BRAND_CREATED = "entities.brand_created"
BRAND_UPDATED = "entities.brand_updated"
DESK_CREATED = "entities.desk_created"
# A brand's residents of one country (or the default) routed to an entity.
COUNTRY_ROUTE_SET = "entities.country_route_set"
# A new version of a rule set (KYC, wallet, PSP, cooling-off) for an entity.
RULESET_PUBLISHED = "entities.ruleset_published"
LEGAL_DOCUMENT_PUBLISHED = "entities.legal_document_published"
