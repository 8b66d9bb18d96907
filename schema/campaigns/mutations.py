import graphene


class CampaignMutations(graphene.ObjectType):
    """Launching campaigns, pledging, confirming, the ledger."""
