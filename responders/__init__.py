"""Everything after an item is flagged: alert workflow and SLA deadlines, later drafting,
approval, the output log, digests and reports."""
