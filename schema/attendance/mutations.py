import graphene


class AttendanceMutations(graphene.ObjectType):
    """Check-in, check-out and attendance marking."""
