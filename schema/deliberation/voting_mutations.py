import graphene


class VotingMutations(graphene.ObjectType):
    """Voting, decisions, follow-up tasks and ratings."""
