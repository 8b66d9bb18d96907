import graphene


class ResidentQueries(graphene.ObjectType):
    """Residences: where users live, for the deliberation hall and campaigns."""
