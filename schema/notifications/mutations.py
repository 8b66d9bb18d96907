import graphene


class NotificationMutations(graphene.ObjectType):
    pass
