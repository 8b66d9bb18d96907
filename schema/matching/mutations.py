import graphene


class MatchingMutations(graphene.ObjectType):
    pass
