"""GraphQL API of matching: candidates with explanations, invitations, plans."""
