"""The people here: staff's people list, reset links and password resets, invitations by
email, and joining (by invitation or by signing up)."""
