import graphene


class CertificateQueries(graphene.ObjectType):
    """Service certificates and their public verification."""
