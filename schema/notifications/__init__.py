"""GraphQL API of notifications: devices, inbox, preferences, broadcasts."""
