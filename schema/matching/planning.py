import graphene


class PlanningMutations(graphene.ObjectType):
    pass
