import graphene


class ActivitySeriesMutations(graphene.ObjectType):
    """Recurring activities."""
