"""Teams: teams, members and roles, team invitations, team access tokens."""
