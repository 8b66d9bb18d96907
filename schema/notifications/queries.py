import graphene


class NotificationQueries(graphene.ObjectType):
    pass
