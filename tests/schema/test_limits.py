"""Depth and cost limits, page caps, and introspection staying usable."""

import pytest
from django.test import override_settings
from graphql import get_introspection_query

DEEP = (
    "{ activities(first: 1) { edges { node { servicePoint { region { parent { parent {"
    " children { children { children { children { name } } } } } } } } } } } }"
)

# Five aliased pages of activities with their shifts and skills: about 5 × 21,000.
WIDE = (
    "{ "
    + " ".join(
        f"a{number}: activities(first: 100) {{ edges {{ node {{ title shifts {{ "
        f"requiredSkills {{ name code }} }} }} }} }}"
        for number in range(5)
    )
    + " }"
)

FRAGMENT_CYCLE = """
query { ...A }
fragment A on Query { ...B }
fragment B on Query { ...A }
"""


@pytest.mark.django_db
def test_a_query_deeper_than_the_limit_is_rejected_before_it_runs(gql, django_assert_num_queries):
    with django_assert_num_queries(0):
        codes = gql.error_codes(DEEP)
    assert codes == ["QUERY_TOO_DEEP"]


@pytest.mark.django_db
def test_a_query_costlier_than_the_limit_is_rejected_before_it_runs(gql, django_assert_num_queries):
    with django_assert_num_queries(0):
        codes = gql.error_codes(WIDE)
    assert codes == ["QUERY_TOO_COSTLY"]


@pytest.mark.django_db
@override_settings(GRAPHQL_MAX_COST=10)
def test_the_cost_counts_page_sizes(gql):
    assert gql.post("{ servicePoints(first: 2) { edges { node { name } } } }").get("errors") is None
    assert gql.error_codes("{ servicePoints(first: 20) { edges { node { name } } } }") == [
        "QUERY_TOO_COSTLY"
    ]


@pytest.mark.django_db
def test_fragment_cycles_are_refused_without_hanging(gql):
    content = gql.post(FRAGMENT_CYCLE)
    assert any("Cannot spread fragment" in error["message"] for error in content["errors"])


@pytest.mark.django_db
def test_introspection_is_not_limited_so_tools_can_read_the_schema(gql):
    data = gql.data(get_introspection_query(descriptions=True))
    assert data["__schema"]["queryType"]["name"] == "Query"


@pytest.mark.django_db
def test_a_page_larger_than_100_is_refused(gql):
    assert gql.error_codes("{ activities(last: 500) { totalCount } }") == ["INVALID_ARGUMENT"]


@pytest.mark.django_db
def test_graphiql_is_served_on_get_in_debug(client):
    response = client.get("/graphql/", HTTP_ACCEPT="text/html", HTTP_HOST="localhost")
    assert response.status_code == 200
    assert b"graphiql" in response.content.lower()


@pytest.mark.django_db
def test_queries_work_over_get_and_an_empty_request_is_a_clear_400(client):
    ok = client.get(
        "/graphql/",
        {"query": "{ serviceCategories { code } }"},
        HTTP_ACCEPT="application/json",
        HTTP_HOST="localhost",
    )
    empty = client.post("/graphql/", {}, content_type="application/json", HTTP_HOST="localhost")

    assert len(ok.json()["data"]["serviceCategories"]) == 18
    assert empty.status_code == 400
    assert "Must provide query string" in empty.content.decode()


@pytest.mark.django_db
def test_a_syntax_error_is_reported_not_cached_as_valid(gql):
    for _ in range(2):
        content = gql.post("{ serviceCategories { code }")
        assert content["errors"][0]["message"].startswith("Syntax Error")


@pytest.mark.django_db
@override_settings(GRAPHQL_INTROSPECTION=False)
def test_production_answers_no_introspection_but_still_serves_typename(gql):
    codes = gql.error_codes(get_introspection_query())

    assert set(codes) == {"GRAPHQL_VALIDATION_FAILED"}
    assert gql.data("{ __typename }") == {"__typename": "Query"}
