import graphene


class AttendanceQueries(graphene.ObjectType):
    """Check-in codes for coordinators."""
