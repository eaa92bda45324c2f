"""The audit trail as the API reads it: events, and the actions they record."""
