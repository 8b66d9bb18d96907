import graphene


class HoursMutations(graphene.ObjectType):
    """Verifying and correcting service hours."""
