"""The answer of every field that hands out a file (ledger exports, certificates)."""

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from backend.core import downloads


class DownloadLink(graphene.ObjectType):
    """A short-lived link to a file the server produces on request; open it with a plain GET
    (no access token needed) before ``expiresAt``."""

    url = graphene.String(required=True)
    expires_at = graphene.DateTime(required=True)
    filename = graphene.String(required=True)


def download_link(
    info: GraphQLResolveInfo, kind: str, params: dict[str, Any], filename: str
) -> downloads.DownloadLink:
    """A link for the caller (whose permission the resolver has checked) to ``kind``."""
    request = info.context if hasattr(info.context, "build_absolute_uri") else None
    user = getattr(info.context, "api_user", None)
    return downloads.link(request, user, kind, params, filename)
