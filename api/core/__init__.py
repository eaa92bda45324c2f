"""What every API resource shares: authentication, errors, pagination, listing, content
negotiation, throttling, schema helpers and formats (URIs, dates)."""
