import graphene


class ServicePointMutations(graphene.ObjectType):
    """Coordinator mutations of this domain."""
