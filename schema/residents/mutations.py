import graphene


class ResidentMutations(graphene.ObjectType):
    """Declaring, verifying and ending residences."""
