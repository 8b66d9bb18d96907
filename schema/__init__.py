"""The GraphQL layer: thin types, queries and filters over the domain apps in ``backend``."""
