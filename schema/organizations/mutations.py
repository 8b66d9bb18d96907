import graphene


class OrganizationMutations(graphene.ObjectType):
    """Coordinator mutations of this domain."""
