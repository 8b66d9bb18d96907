import graphene


class MatchingQueries(graphene.ObjectType):
    pass
