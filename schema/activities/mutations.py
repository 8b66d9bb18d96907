import graphene


class ActivityMutations(graphene.ObjectType):
    """Coordinator mutations of this domain."""
