import graphene


class PlanningQueries(graphene.ObjectType):
    pass
