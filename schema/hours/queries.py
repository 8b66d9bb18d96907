import graphene


class HoursQueries(graphene.ObjectType):
    """Service-hours ledger, totals and time-bank balance."""
