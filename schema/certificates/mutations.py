import graphene


class CertificateMutations(graphene.ObjectType):
    """Issuing and revoking service certificates."""
