import graphene


class CampaignQueries(graphene.ObjectType):
    """Public-welfare campaigns, their progress and public ledgers."""
