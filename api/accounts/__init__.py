"""Your account: Tutum's /auth/, API keys, sign-ins, your password and profile."""
