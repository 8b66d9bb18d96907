"""The administration site shows campaigns; only their wording can be edited there."""

import pytest
from django.urls import reverse

from backend.campaigns import services
from backend.campaigns.models import Campaign, CampaignLedgerEntry, GoalKind, Pledge
from tests.campaigns.conftest import goal


@pytest.mark.parametrize("model", [Campaign, Pledge, CampaignLedgerEntry], ids=str)
def test_list_search_and_change_pages_render(admin_client, campaign, organizer, resident, model):
    pledge = services.pledge(resident, campaign, goal(campaign, GoalKind.MONEY), "10")
    services.confirm_pledge(organizer, pledge)
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[1])
    change = change.replace("/1/", f"/{model.objects.get().pk}/")

    assert admin_client.get(changelist, HTTP_HOST="localhost").status_code == 200
    assert admin_client.get(changelist, {"q": "楼道"}, HTTP_HOST="localhost").status_code == 200
    assert admin_client.get(change, HTTP_HOST="localhost").status_code == 200
    add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
    assert admin_client.get(add, HTTP_HOST="localhost").status_code == 403


def test_the_admin_changes_wording_but_not_status(admin_client, campaign):
    change = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    form: dict[str, object] = {"title": "楼道改造", "description": "三号楼", "status": "closed"}
    goals = list(campaign.goals.values_list("pk", flat=True))
    form.update({"goals-TOTAL_FORMS": len(goals), "goals-INITIAL_FORMS": len(goals)})
    for index, pk in enumerate(goals):
        form.update({f"goals-{index}-id": pk, f"goals-{index}-campaign": campaign.pk})

    response = admin_client.post(change, form, HTTP_HOST="localhost")

    assert response.status_code == 302, response.content.decode()[:2000]
    campaign.refresh_from_db()
    assert (campaign.title, campaign.description, campaign.status) == ("楼道改造", "三号楼", "open")
