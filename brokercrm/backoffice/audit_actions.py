"""What the back office's shared screens record in the audit log (`backoffice.*`)."""

# A staff member took a work item for themselves.
WORK_CLAIMED = "backoffice.work_claimed"
# A work item was given to someone (or moved from one assignee to another).
WORK_ASSIGNED = "backoffice.work_assigned"
# A work item was handed back to its queue.
WORK_RELEASED = "backoffice.work_released"
