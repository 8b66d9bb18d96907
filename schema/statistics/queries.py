import graphene


class StatisticsQueries(graphene.ObjectType):
    """Ledgers and statistics per community and period, and their exports."""
