import graphene


class VotingQueries(graphene.ObjectType):
    """Proposals, ballots, decisions and their follow-up."""
