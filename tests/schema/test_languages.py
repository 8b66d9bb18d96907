"""Users in China read Chinese by default; English is there on request."""

import pytest

BAD_CURSOR = '{ activities(after: "garbage") { totalCount } }'
CATEGORY = "{ serviceCategories { name } }"


@pytest.mark.django_db
def test_error_messages_are_chinese_by_default_and_english_on_request(gql):
    chinese = gql.post(BAD_CURSOR)["errors"][0]
    english = gql.post(BAD_CURSOR, language="en")["errors"][0]

    assert chinese["extensions"]["code"] == english["extensions"]["code"] == "INVALID_CURSOR"
    assert chinese["message"] == "after 不是有效的游标。"
    assert english["message"] == "after is not a valid cursor."


@pytest.mark.django_db
def test_the_admin_speaks_chinese_by_default(admin_client):
    response = admin_client.get("/admin/activities/activity/", HTTP_HOST="localhost")

    assert response.status_code == 200
    assert "活动" in response.content.decode()
