import graphene


class DeliberationMutations(graphene.ObjectType):
    """Raising topics, opinions, meetings, moderation."""
