"""The audit trail as the API reads it."""
