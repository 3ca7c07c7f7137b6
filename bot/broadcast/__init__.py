"""Campaigns: the plan (who gets what, on which channel), the composed texts, the
customer-service and mass-send lanes, the run and its report."""
