"""Seed the 18 service categories. Re-running (or a category added by hand) changes nothing."""

from django.db import migrations

# Frozen copy: a migration must not change when the live list is edited later.
CATEGORIES = [
    ("elder-care", "养老护理", "Elder care"),
    ("meal-assistance", "助餐配餐", "Meal assistance"),
    ("haircut", "义务理发", "Free haircut"),
    ("housekeeping", "家政服务", "Housekeeping"),
    ("medical", "医疗保健", "Medical care"),
    ("rehabilitation", "康复理疗", "Rehabilitation"),
    ("legal-aid", "法律援助", "Legal aid"),
    ("counselling", "心理疏导", "Counselling"),
    ("appliance-repair", "家电维修", "Appliance repair"),
    ("plumbing-electrical", "水电维修", "Plumbing and electrical repair"),
    ("bathing-assistance", "助浴服务", "Bathing assistance"),
    ("disability-assistance", "助残服务", "Disability assistance"),
    ("childcare", "儿童托管", "Childcare"),
    ("tutoring", "课业辅导", "Tutoring"),
    ("culture-recreation", "文体娱乐", "Culture and recreation"),
    ("tailoring", "衣物缝补", "Clothing repair"),
    ("errands", "代办跑腿", "Errands"),
    ("convenience-shopping", "便民购物", "Convenience shopping"),
]


def seed(apps, schema_editor):
    ServiceCategory = apps.get_model("servicepoints", "ServiceCategory")
    for order, (code, name_zh, name_en) in enumerate(CATEGORIES, start=1):
        ServiceCategory.objects.get_or_create(
            code=code, defaults={"name_zh": name_zh, "name_en": name_en, "sort_order": order}
        )


def unseed(apps, schema_editor):
    ServiceCategory = apps.get_model("servicepoints", "ServiceCategory")
    ServiceCategory.objects.filter(code__in=[code for code, _, _ in CATEGORIES],
                                   service_points__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("servicepoints", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
