import graphene


class DeliberationQueries(graphene.ObjectType):
    """The deliberation hall: topics and opinions."""
