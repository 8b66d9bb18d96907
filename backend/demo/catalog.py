"""What the demo community is made of: its regions, organizations, skills, kinds of service
point and kinds of activity.

Plain data, no database access: the builder turns it into rows. Keys (``"haircut-team"``)
tie the lists together so that an activity template can name its usual organizers. Tables
are exempt from the formatter so that they stay one row per line.
"""

import datetime as dt
from dataclasses import dataclass

from backend.activities.models import ActivityKind
from backend.organizations.models import OrganizationKind
from backend.regions.models import RegionLevel

# The source reporting's figures for 和平区朝阳里社区 (see DESIGN.md).
SERVICE_POINT_COUNT = 5_276
VOLUNTEER_COUNT = 7_000
ACTIVITY_COUNT = 300

# Everything except the activity calendar derives from this seed (the day the demo was
# specified), so that every run builds the same community.
DEMO_SEED = 20231128
# Registration dates of volunteers are spread over the five years before this date.
REGISTRATION_PERIOD_END = dt.date(2023, 11, 28)
REGISTRATION_PERIOD_DAYS = 5 * 365

# "A year of activities, past and upcoming", anchored on the current week's Monday.
ACTIVITY_WEEKS_PAST = 35
ACTIVITY_WEEKS_UPCOMING = 17
ACTIVITY_TIME_ZONE = "Asia/Shanghai"

# Demo users are marked by an address in the reserved .invalid top-level domain (RFC 2606),
# which no real account can have; ``--reset`` deletes exactly these users.
DEMO_EMAIL_DOMAIN = "demo.linli.invalid"
VOLUNTEER_USERNAME_PREFIX = "v"

CHAOYANGLI_CODE = "120101003008"
CHAOYANGLI_LATITUDE = 39.1189
CHAOYANGLI_LONGITUDE = 117.2002
CHAOYANGLI_POPULATION = 10_000
# Service points and volunteers' homes lie within this distance of the community centre.
SERVICE_RADIUS_KM = 1.5


@dataclass(frozen=True)
class RegionSpec:
    code: str
    name: str
    name_en: str
    level: RegionLevel
    latitude: float
    longitude: float
    parent_code: str | None = None
    population: int | None = None


DISTRICT, STREET, COMMUNITY = RegionLevel.DISTRICT, RegionLevel.STREET, RegionLevel.COMMUNITY

# Parents come before their children: the builder saves them in this order.
# fmt: off
REGIONS: tuple[RegionSpec, ...] = (
    RegionSpec("120101", "天津市和平区", "Heping District, Tianjin", DISTRICT, 39.1172, 117.2026),
    RegionSpec("120101001", "劝业场街道", "Quanyechang Subdistrict", STREET, 39.1266, 117.1963,
               "120101"),
    RegionSpec("120101003", "小白楼街道", "Xiaobailou Subdistrict", STREET, 39.1150, 117.2080,
               "120101"),
    RegionSpec("120101005", "南营门街道", "Nanyingmen Subdistrict", STREET, 39.1108, 117.1930,
               "120101"),
    RegionSpec("120101001007", "滨西社区", "Binxi Community", COMMUNITY, 39.1281, 117.1951,
               "120101001", 8_800),
    RegionSpec("120101003004", "开封道社区", "Kaifengdao Community", COMMUNITY, 39.1163, 117.2105,
               "120101003", 8_200),
    RegionSpec("120101003006", "泰安道社区", "Tai'andao Community", COMMUNITY, 39.1205, 117.2068,
               "120101003", 6_900),
    RegionSpec(CHAOYANGLI_CODE, "朝阳里社区", "Chaoyangli Community", COMMUNITY,
               CHAOYANGLI_LATITUDE, CHAOYANGLI_LONGITUDE, "120101003", CHAOYANGLI_POPULATION),
    RegionSpec("120101005003", "兰州道社区", "Lanzhoudao Community", COMMUNITY, 39.1112, 117.1948,
               "120101005", 7_600),
)

# The grids (网格) of 朝阳里: residents per grid (summing to the community's population) and
# the grid centre's offset from the community centre in metres (east, north).
CHAOYANGLI_GRIDS: tuple[tuple[int, tuple[int, int]], ...] = (
    (1_180, (-800, 250)), (960, (-400, 250)), (1_050, (0, 250)), (890, (400, 250)),
    (1_240, (800, 250)), (1_010, (-800, -250)), (870, (-400, -250)), (1_120, (0, -250)),
    (760, (400, -250)), (920, (800, -250)),
)
# fmt: on


@dataclass(frozen=True)
class OrganizationSpec:
    key: str
    name: str
    kind: OrganizationKind
    region_code: str = CHAOYANGLI_CODE
    parent_key: str | None = None
    description: str = ""
    # How many demo volunteers join it as members, relative to the other teams.
    member_weight: int = 0


PARTY = OrganizationKind.PARTY_ORGANIZATION
SOCIAL = OrganizationKind.SOCIAL_ORGANIZATION
CO_BUILDING = OrganizationKind.CO_BUILDING_UNIT
TEAM = OrganizationKind.VOLUNTEER_TEAM
XIAOBAILOU = "120101003"
COMMITTEE = "cyl-party-committee"

# Parents come before their children.
# fmt: off
ORGANIZATIONS: tuple[OrganizationSpec, ...] = (
    OrganizationSpec("xbl-party-working-committee", "小白楼街道党工委", PARTY, XIAOBAILOU,
                     description="街道党的工作委员会，领导辖区各社区党组织。"),
    OrganizationSpec(COMMITTEE, "朝阳里社区党委", PARTY,
                     parent_key="xbl-party-working-committee",
                     description="社区党委，统筹网格党支部、共建单位和志愿服务队。"),
    OrganizationSpec("kfd-party-committee", "开封道社区党委", PARTY, "120101003004",
                     parent_key="xbl-party-working-committee"),
    OrganizationSpec("tad-party-committee", "泰安道社区党委", PARTY, "120101003006",
                     parent_key="xbl-party-working-committee"),
    OrganizationSpec("branch-1", "朝阳里社区第一党支部", PARTY, parent_key=COMMITTEE,
                     description="联系第一、二网格的党员和居民。"),
    OrganizationSpec("branch-2", "朝阳里社区第二党支部", PARTY, parent_key=COMMITTEE,
                     description="联系第三、四、五网格的党员和居民。"),
    OrganizationSpec("branch-3", "朝阳里社区第三党支部", PARTY, parent_key=COMMITTEE,
                     description="联系第六、七网格的党员和居民。"),
    OrganizationSpec("branch-4", "朝阳里社区第四党支部", PARTY, parent_key=COMMITTEE,
                     description="联系第八、九、十网格的党员和居民。"),
    OrganizationSpec("branch-retired", "朝阳里社区离退休党员党支部", PARTY, parent_key=COMMITTEE),
    OrganizationSpec("branch-non-public", "朝阳里社区非公企业联合党支部", PARTY,
                     parent_key=COMMITTEE),
    OrganizationSpec("cyl-elderly-association", "朝阳里社区老年协会", SOCIAL,
                     description="组织老年居民开展互助和文体活动。"),
    OrganizationSpec("cyl-culture-association", "朝阳里社区文体协会", SOCIAL,
                     description="合唱团、书画社、太极拳队等居民文体队伍的联合会。"),
    OrganizationSpec("leling-elder-care", "和平区乐龄居家养老服务中心", SOCIAL, XIAOBAILOU,
                     description="承接政府购买的居家养老上门服务。"),
    OrganizationSpec("neighbourhood-social-work", "和平区邻里守望社会工作服务中心", SOCIAL,
                     XIAOBAILOU, description="专业社工机构，开展邻里互助和家政培训。"),
    OrganizationSpec("meal-centre", "和平区暖心助餐服务中心", SOCIAL,
                     description="运营社区老年食堂和助餐点。"),
    OrganizationSpec("disability-service", "和平区阳光助残服务社", SOCIAL, XIAOBAILOU),
    OrganizationSpec("childcare-centre", "和平区童心儿童托管服务中心", SOCIAL),
    OrganizationSpec("counselling-centre", "和平区心语心理咨询服务中心", SOCIAL, XIAOBAILOU),
    OrganizationSpec("health-centre", "小白楼街社区卫生服务中心", CO_BUILDING,
                     description="家庭医生签约、慢病管理和健康义诊。"),
    OrganizationSpec("tcm-hospital", "和平区中医医院", CO_BUILDING),
    OrganizationSpec("bank-boc", "中国银行天津和平支行", CO_BUILDING),
    OrganizationSpec("bank-icbc", "中国工商银行天津小白楼支行", CO_BUILDING),
    OrganizationSpec("school-primary", "岳阳道小学", CO_BUILDING),
    OrganizationSpec("school-middle", "天津市第二十一中学", CO_BUILDING),
    OrganizationSpec("power-supply", "国网天津和平供电服务中心", CO_BUILDING),
    OrganizationSpec("water-company", "天津水务集团和平营业分公司", CO_BUILDING),
    OrganizationSpec("gas-company", "天津燃气集团和平分公司", CO_BUILDING),
    OrganizationSpec("law-firm", "天津和信律师事务所", CO_BUILDING),
    OrganizationSpec("fire-station", "和平区消防救援支队小白楼消防站", CO_BUILDING),
    OrganizationSpec("telecom", "天津联通和平分公司", CO_BUILDING),
    OrganizationSpec("party-veterans-team", "朝阳里“老党员”志愿服务队", TEAM,
                     parent_key=COMMITTEE, member_weight=12),
    OrganizationSpec("women-team", "朝阳里巾帼志愿服务队", TEAM, member_weight=10),
    OrganizationSpec("youth-team", "朝阳里青年志愿服务队", TEAM, member_weight=9),
    OrganizationSpec("silver-team", "朝阳里银发助老志愿服务队", TEAM, member_weight=14),
    OrganizationSpec("haircut-team", "朝阳里义务理发志愿服务队", TEAM, member_weight=2),
    OrganizationSpec("clinic-team", "朝阳里义诊志愿服务队", TEAM, member_weight=2),
    OrganizationSpec("patrol-team", "朝阳里平安巡逻志愿服务队", TEAM, member_weight=8),
    OrganizationSpec("civic-team", "朝阳里文明实践志愿服务队", TEAM, parent_key=COMMITTEE,
                     member_weight=12),
    OrganizationSpec("appliance-team", "朝阳里家电维修志愿服务队", TEAM, member_weight=2),
    OrganizationSpec("legal-team", "朝阳里法律援助志愿服务队", TEAM, member_weight=1),
    OrganizationSpec("tutoring-team", "朝阳里四点半课堂志愿服务队", TEAM, member_weight=4),
    OrganizationSpec("waste-sorting-team", "朝阳里垃圾分类宣传志愿服务队", TEAM,
                     member_weight=6),
    OrganizationSpec("sign-language-team", "朝阳里手语志愿服务队", TEAM, member_weight=1),
)

# Skills: (code, Chinese name, English name, share of volunteers who state it in ‰).
SKILLS: tuple[tuple[str, str, str, int], ...] = (
    ("first-aid", "急救", "First aid", 90),
    ("haircut", "理发", "Haircut", 25),
    ("nursing", "护理", "Nursing care", 70),
    ("cooking", "烹饪", "Cooking", 120),
    ("appliance-repair", "家电维修", "Appliance repair", 35),
    ("plumbing", "水电维修", "Plumbing and wiring", 40),
    ("legal-advice", "法律咨询", "Legal advice", 15),
    ("medical", "医疗", "Medical care", 25),
    ("tutoring", "课业辅导", "Tutoring", 80),
    ("counselling", "心理疏导", "Counselling", 20),
    ("sign-language", "手语", "Sign language", 8),
    ("photography", "摄影", "Photography", 45),
    ("driving", "驾驶", "Driving", 110),
    ("computer-help", "电脑手机帮助", "Computer and phone help", 60),
    ("tianjin-dialect", "天津话", "Tianjin dialect", 150),
    ("sewing", "缝纫", "Sewing", 30),
)

# Weekly opening hours by profile: (weekdays, ((opens, closes), ...)). "appointment" has no
# fixed hours and is stored as an empty list (hours unknown).
HOURS_PROFILES: dict[str, tuple[tuple[int, ...], tuple[tuple[str, str], ...]]] = {
    "office": ((1, 2, 3, 4, 5), (("08:30", "17:00"),)),
    "office_lunch": ((1, 2, 3, 4, 5), (("08:30", "11:30"), ("14:00", "17:30"))),
    "daily": ((1, 2, 3, 4, 5, 6, 7), (("08:00", "20:00"),)),
    "meals": ((1, 2, 3, 4, 5, 6, 7), (("10:30", "13:00"), ("16:30", "18:30"))),
    "six_days": ((1, 2, 3, 4, 5, 6), (("09:00", "18:00"),)),
    "weekend": ((6, 7), (("09:00", "16:00"),)),
    "after_school": ((1, 2, 3, 4, 5), (("16:00", "19:00"),)),
    "evening_weekend": ((1, 2, 3, 4, 5), (("18:30", "21:00"),)),
    "appointment": ((), ()),
}

# Weekly availability windows volunteers state (local time), with relative frequency:
# retirees offer mornings, people at work offer evenings.
AVAILABILITY_SLOTS: tuple[tuple[dt.time, dt.time, int], ...] = (
    (dt.time(8, 0), dt.time(11, 30), 30),
    (dt.time(9, 0), dt.time(12, 0), 25),
    (dt.time(14, 0), dt.time(17, 0), 20),
    (dt.time(8, 0), dt.time(17, 0), 10),
    (dt.time(15, 0), dt.time(18, 0), 8),
    (dt.time(18, 30), dt.time(21, 0), 15),
)
# fmt: on


@dataclass(frozen=True)
class ServicePointKind:
    """How the points of one service category look: names, hours, who runs them."""

    weight: int
    name_stems: tuple[str, ...]
    description: str
    hours_profiles: tuple[str, ...]
    operator_keys: tuple[str, ...] = ()


# One entry per seeded ServiceCategory code (migration servicepoints 0002). ``weight`` is
# the category's share of the points: uneven, as in the real community.
SERVICE_POINT_KINDS: dict[str, ServicePointKind] = {
    "elder-care": ServicePointKind(
        weight=13,
        name_stems=("居家养老服务点", "老年日间照料站", "养老护理服务站"),
        description="为辖区老年人提供上门照护、陪护和日间照料。",
        hours_profiles=("office", "daily", "six_days"),
        operator_keys=("cyl-elderly-association", "leling-elder-care", "silver-team"),
    ),
    "meal-assistance": ServicePointKind(
        weight=8,
        name_stems=("助餐点", "老年食堂", "爱心配餐点"),
        description="为老年人和残疾人提供堂食助餐和送餐上门。",
        hours_profiles=("meals",),
        operator_keys=("meal-centre", "leling-elder-care"),
    ),
    "haircut": ServicePointKind(
        weight=5,
        name_stems=("便民理发点", "义务理发点"),
        description="为行动不便的老人提供上门义务理发。",
        hours_profiles=("six_days", "weekend", "appointment"),
        operator_keys=("haircut-team",),
    ),
    "housekeeping": ServicePointKind(
        weight=9,
        name_stems=("家政服务点", "保洁服务站"),
        description="提供保洁、收纳、擦玻璃等家政服务。",
        hours_profiles=("office", "six_days"),
        operator_keys=("neighbourhood-social-work",),
    ),
    "medical": ServicePointKind(
        weight=6,
        name_stems=("健康服务站", "家庭医生工作站", "便民医疗点"),
        description="健康咨询、血压血糖测量和家庭医生签约。",
        hours_profiles=("office_lunch", "office"),
        operator_keys=("health-centre", "tcm-hospital", "clinic-team"),
    ),
    "rehabilitation": ServicePointKind(
        weight=3,
        name_stems=("康复理疗站", "康复服务点"),
        description="康复训练指导和理疗服务。",
        hours_profiles=("office_lunch",),
        operator_keys=("tcm-hospital", "health-centre", "disability-service"),
    ),
    "legal-aid": ServicePointKind(
        weight=2,
        name_stems=("法律服务站", "法律援助联系点"),
        description="法律咨询、人民调解和法律援助申请指导。",
        hours_profiles=("office", "evening_weekend"),
        operator_keys=("law-firm", "legal-team"),
    ),
    "counselling": ServicePointKind(
        weight=2,
        name_stems=("心理服务站", "心理疏导室"),
        description="为居民提供心理咨询和情绪疏导。",
        hours_profiles=("office_lunch", "appointment"),
        operator_keys=("counselling-centre",),
    ),
    "appliance-repair": ServicePointKind(
        weight=6,
        name_stems=("家电维修点", "便民维修点"),
        description="维修电视、洗衣机、电饭煲等家用电器。",
        hours_profiles=("six_days", "weekend"),
        operator_keys=("appliance-team", "power-supply"),
    ),
    "plumbing-electrical": ServicePointKind(
        weight=7,
        name_stems=("水电维修点", "水电便民服务点"),
        description="上门检修水管、电路和燃气管线。",
        hours_profiles=("six_days", "daily"),
        operator_keys=("water-company", "power-supply", "gas-company"),
    ),
    "bathing-assistance": ServicePointKind(
        weight=2,
        name_stems=("助浴服务点", "助浴间"),
        description="为失能、半失能老人提供助浴服务。",
        hours_profiles=("office", "appointment"),
        operator_keys=("leling-elder-care",),
    ),
    "disability-assistance": ServicePointKind(
        weight=3,
        name_stems=("助残服务点", "残疾人之家"),
        description="为残疾人提供康复、就业和生活帮扶。",
        hours_profiles=("office",),
        operator_keys=("disability-service", "sign-language-team"),
    ),
    "childcare": ServicePointKind(
        weight=4,
        name_stems=("儿童托管点", "儿童之家"),
        description="放学后托管和课后看护。",
        hours_profiles=("after_school", "weekend"),
        operator_keys=("childcare-centre", "school-primary"),
    ),
    "tutoring": ServicePointKind(
        weight=6,
        name_stems=("课业辅导点", "学习辅导站"),
        description="为中小学生提供课业辅导。",
        hours_profiles=("after_school", "weekend"),
        operator_keys=("tutoring-team", "school-primary", "school-middle", "youth-team"),
    ),
    "culture-recreation": ServicePointKind(
        weight=7,
        name_stems=("文体活动室", "党群服务站", "读书角", "棋牌室"),
        description="居民文体活动、读书、棋牌和议事的场所。",
        hours_profiles=("daily", "six_days"),
        operator_keys=("cyl-culture-association", COMMITTEE),
    ),
    "tailoring": ServicePointKind(
        weight=4,
        name_stems=("缝补服务点", "便民缝纫点"),
        description="缝补衣物、修改裤脚、更换拉链。",
        hours_profiles=("six_days", "weekend", "appointment"),
        operator_keys=("women-team",),
    ),
    "errands": ServicePointKind(
        weight=6,
        name_stems=("代办服务点", "跑腿服务站"),
        description="为老人代办缴费、取药、取快递等事务。",
        hours_profiles=("office", "daily"),
        operator_keys=("youth-team", "party-veterans-team"),
    ),
    "convenience-shopping": ServicePointKind(
        weight=10,
        name_stems=("便民超市", "便民菜站", "社区小卖部"),
        description="日用品和蔬菜的便民购物点，可电话订货送货上门。",
        hours_profiles=("daily",),
    ),
}


@dataclass(frozen=True)
class Slot:
    """A shift's local time of day."""

    title: str
    starts: dt.time
    ends: dt.time


MORNING = Slot("上午场", dt.time(9, 0), dt.time(11, 0))
NOON = Slot("午间", dt.time(10, 30), dt.time(12, 30))
AFTERNOON = Slot("下午场", dt.time(14, 0), dt.time(16, 0))
AFTER_SCHOOL = Slot("放学后", dt.time(16, 30), dt.time(18, 0))
EVENING = Slot("晚间场", dt.time(19, 0), dt.time(20, 30))


@dataclass(frozen=True)
class ActivityTemplate:
    """A kind of activity the community holds again and again."""

    kind: ActivityKind
    titles: tuple[str, ...]
    description: str
    organizer_keys: tuple[str, ...]
    # Held at a service point of one of these categories; empty: outdoors, no point.
    category_codes: tuple[str, ...]
    # ISO weekdays it is held on (1 = Monday).
    weekdays: tuple[int, ...]
    slots: tuple[Slot, ...]
    capacity: tuple[int, int]
    # How often it is held, relative to the other templates.
    weight: int
    skill_codes: tuple[str, ...] = ()
    # Held in one grid (door to door, a grid's service point) rather than community-wide.
    in_grid: bool = False


CIVIC = ActivityKind.CIVIC_PRACTICE
ELDER = ActivityKind.ELDER_CARE
HOME = ActivityKind.HOME_SERVICE
WORKDAYS = (1, 2, 3, 4, 5)

ACTIVITY_TEMPLATES: tuple[ActivityTemplate, ...] = (
    ActivityTemplate(
        kind=CIVIC,
        titles=("文明实践·垃圾分类宣传", "文明实践·垃圾分类桶前值守"),
        description="在楼门口和投放点宣传垃圾分类知识，指导居民正确投放。",
        organizer_keys=("civic-team", "waste-sorting-team", "branch-1", "branch-2"),
        category_codes=("culture-recreation",),
        weekdays=(2, 4, 6),
        slots=(MORNING, AFTERNOON),
        capacity=(6, 20),
        weight=8,
        in_grid=True,
    ),
    ActivityTemplate(
        kind=CIVIC,
        titles=("文明实践·反诈宣传进楼门", "文明实践·防范电信诈骗讲座"),
        description="讲解常见电信诈骗手法，帮助老人安装反诈App。",
        organizer_keys=("civic-team", "youth-team", "bank-icbc", "bank-boc"),
        category_codes=("culture-recreation",),
        weekdays=(3, 5),
        slots=(MORNING, AFTERNOON),
        capacity=(5, 15),
        weight=5,
    ),
    ActivityTemplate(
        kind=CIVIC,
        titles=("文明实践·楼道环境清洁日", "文明实践·背街小巷环境整治"),
        description="清理楼道堆物和小广告，整治背街小巷环境。",
        organizer_keys=("civic-team", "party-veterans-team", "branch-3", "branch-4"),
        category_codes=(),
        weekdays=(6,),
        slots=(MORNING,),
        capacity=(10, 30),
        weight=6,
        in_grid=True,
    ),
    ActivityTemplate(
        kind=CIVIC,
        titles=("文明实践·文明养犬倡导", "文明实践·共享单车规范停放", "文明实践·光盘行动倡议"),
        description="在街头和小区门口开展文明行为劝导。",
        organizer_keys=("civic-team", "youth-team", "patrol-team"),
        category_codes=("culture-recreation",),
        weekdays=(6, 7),
        slots=(MORNING, AFTERNOON),
        capacity=(5, 15),
        weight=5,
    ),
    ActivityTemplate(
        kind=CIVIC,
        titles=("新时代文明实践·理论宣讲", "文明实践·党史故事分享会"),
        description="老党员讲述身边故事，宣讲党的政策。",
        organizer_keys=(COMMITTEE, "branch-retired", "branch-1"),
        category_codes=("culture-recreation",),
        weekdays=(2, 4),
        slots=(MORNING,),
        capacity=(3, 10),
        weight=4,
    ),
    ActivityTemplate(
        kind=CIVIC,
        titles=("文明实践·消防安全宣传", "文明实践·应急救护培训"),
        description="讲解家庭用火用电安全，演示心肺复苏和灭火器使用。",
        organizer_keys=("fire-station", "civic-team", "health-centre"),
        category_codes=("culture-recreation",),
        weekdays=(3, 6),
        slots=(MORNING, AFTERNOON),
        capacity=(5, 20),
        weight=4,
        skill_codes=("first-aid",),
    ),
    ActivityTemplate(
        kind=CIVIC,
        titles=("学雷锋志愿服务集市",),
        description="理发、修家电、量血压、磨剪子，志愿服务摊位一字排开。",
        organizer_keys=("civic-team", COMMITTEE),
        category_codes=("culture-recreation",),
        weekdays=(6,),
        slots=(MORNING, AFTERNOON),
        capacity=(15, 30),
        weight=2,
        skill_codes=("haircut", "appliance-repair", "medical"),
    ),
    ActivityTemplate(
        kind=ELDER,
        titles=("敬老院探访", "养老院陪伴慰问"),
        description="陪老人聊天、读报、做手工，协助护理员开展文娱活动。",
        organizer_keys=("silver-team", "youth-team", "branch-retired", "women-team"),
        category_codes=("elder-care",),
        weekdays=(2, 4),
        slots=(MORNING, AFTERNOON),
        capacity=(5, 15),
        weight=6,
        skill_codes=("nursing",),
        in_grid=True,
    ),
    ActivityTemplate(
        kind=ELDER,
        titles=("独居老人上门探视", "空巢老人走访慰问"),
        description="上门看望独居、空巢老人，检查水电燃气安全，了解生活需求。",
        organizer_keys=("silver-team", "party-veterans-team", "branch-2"),
        category_codes=("elder-care",),
        weekdays=(1, 3, 5),
        slots=(MORNING, AFTERNOON),
        capacity=(3, 10),
        weight=6,
        in_grid=True,
    ),
    ActivityTemplate(
        kind=ELDER,
        titles=("助老送餐", "爱心午餐配送"),
        description="从老年食堂取餐，送到行动不便的老人家中。",
        organizer_keys=("meal-centre", "youth-team", "women-team"),
        category_codes=("meal-assistance",),
        weekdays=WORKDAYS,
        slots=(NOON,),
        capacity=(4, 12),
        weight=5,
        skill_codes=("driving",),
        in_grid=True,
    ),
    ActivityTemplate(
        kind=ELDER,
        titles=("老年人智能手机课堂", "教老人网上缴费和视频通话"),
        description="一对一教老人使用智能手机，跨越数字鸿沟。",
        organizer_keys=("youth-team", "school-middle", "telecom"),
        category_codes=("culture-recreation", "elder-care"),
        weekdays=(2, 4),
        slots=(AFTERNOON,),
        capacity=(3, 10),
        weight=4,
        skill_codes=("computer-help",),
    ),
    ActivityTemplate(
        kind=ELDER,
        titles=("助浴上门服务",),
        description="协助护理员为失能老人助浴。",
        organizer_keys=("leling-elder-care", "silver-team"),
        category_codes=("bathing-assistance",),
        weekdays=(2, 5),
        slots=(MORNING, AFTERNOON),
        capacity=(3, 6),
        weight=2,
        skill_codes=("nursing",),
        in_grid=True,
    ),
    ActivityTemplate(
        kind=ELDER,
        titles=("康复理疗进家门",),
        description="中医医院康复师上门指导康复训练，志愿者协助预约和陪同。",
        organizer_keys=("tcm-hospital", "health-centre"),
        category_codes=("rehabilitation",),
        weekdays=(3,),
        slots=(MORNING, AFTERNOON),
        capacity=(3, 8),
        weight=2,
        skill_codes=("medical", "nursing"),
        in_grid=True,
    ),
    ActivityTemplate(
        kind=ELDER,
        titles=("血压血糖免费测量", "老年人健康筛查"),
        description="为60岁以上居民测量血压血糖，建立健康档案。",
        organizer_keys=("health-centre", "clinic-team"),
        category_codes=("medical",),
        weekdays=(1, 3, 5),
        slots=(MORNING,),
        capacity=(4, 12),
        weight=4,
        skill_codes=("medical",),
    ),
    ActivityTemplate(
        kind=ELDER,
        titles=("高龄老人集体生日会",),
        description="为本季度过生日的80岁以上老人集体庆生。",
        organizer_keys=("cyl-elderly-association", COMMITTEE, "bank-boc"),
        category_codes=("culture-recreation",),
        weekdays=(6,),
        slots=(AFTERNOON,),
        capacity=(10, 30),
        weight=2,
        skill_codes=("photography",),
    ),
    ActivityTemplate(
        kind=HOME,
        titles=("周四义务理发",),
        description="理发志愿者每周四为老人义务理发，行动不便的可预约上门。",
        organizer_keys=("haircut-team",),
        category_codes=("haircut",),
        weekdays=(4,),
        slots=(MORNING, AFTERNOON),
        capacity=(3, 8),
        weight=5,
        skill_codes=("haircut",),
        in_grid=True,
    ),
    ActivityTemplate(
        kind=HOME,
        titles=("家电义务维修",),
        description="义务维修小家电，只收零件成本费。",
        organizer_keys=("appliance-team", "power-supply"),
        category_codes=("appliance-repair",),
        weekdays=(6,),
        slots=(MORNING, AFTERNOON),
        capacity=(3, 10),
        weight=3,
        skill_codes=("appliance-repair",),
        in_grid=True,
    ),
    ActivityTemplate(
        kind=HOME,
        titles=("水电上门检修", "燃气安全入户检查"),
        description="入户检查水管、电线和燃气管线，排除安全隐患。",
        organizer_keys=("water-company", "power-supply", "gas-company"),
        category_codes=("plumbing-electrical",),
        weekdays=(2, 4),
        slots=(MORNING, AFTERNOON),
        capacity=(3, 8),
        weight=3,
        skill_codes=("plumbing",),
        in_grid=True,
    ),
    ActivityTemplate(
        kind=HOME,
        titles=("衣物缝补便民日",),
        description="缝补衣物、修改裤脚、更换拉链。",
        organizer_keys=("women-team",),
        category_codes=("tailoring",),
        weekdays=(3,),
        slots=(MORNING, AFTERNOON),
        capacity=(3, 8),
        weight=2,
        skill_codes=("sewing",),
        in_grid=True,
    ),
    ActivityTemplate(
        kind=HOME,
        titles=("法律咨询进社区",),
        description="律师现场解答婚姻家庭、房屋租赁、赡养继承等法律问题。",
        organizer_keys=("law-firm", "legal-team"),
        category_codes=("legal-aid",),
        weekdays=(5, 6),
        slots=(MORNING, AFTERNOON),
        capacity=(3, 6),
        weight=2,
        skill_codes=("legal-advice",),
    ),
    ActivityTemplate(
        kind=HOME,
        titles=("心理疏导小课堂",),
        description="心理咨询师带领居民学习情绪调节方法。",
        organizer_keys=("counselling-centre",),
        category_codes=("counselling",),
        weekdays=(3,),
        slots=(AFTERNOON, EVENING),
        capacity=(3, 10),
        weight=1,
        skill_codes=("counselling",),
    ),
    ActivityTemplate(
        kind=HOME,
        titles=("便民义诊",),
        description="医生现场问诊、量血压、讲解用药常识。",
        organizer_keys=("clinic-team", "tcm-hospital", "health-centre"),
        category_codes=("medical",),
        weekdays=(6,),
        slots=(MORNING, AFTERNOON),
        capacity=(4, 12),
        weight=2,
        skill_codes=("medical", "first-aid"),
    ),
    ActivityTemplate(
        kind=HOME,
        titles=("四点半课堂",),
        description="放学后为双职工家庭的孩子辅导作业。",
        organizer_keys=("tutoring-team", "school-primary"),
        category_codes=("childcare", "tutoring"),
        weekdays=WORKDAYS,
        slots=(AFTER_SCHOOL,),
        capacity=(4, 15),
        weight=3,
        skill_codes=("tutoring",),
        in_grid=True,
    ),
    ActivityTemplate(
        kind=HOME,
        titles=("代办跑腿·为老人代缴代购",),
        description="为独居老人代缴水电燃气费、代购药品和生活用品。",
        organizer_keys=("youth-team", "party-veterans-team"),
        category_codes=("errands", "convenience-shopping"),
        weekdays=WORKDAYS,
        slots=(MORNING, AFTERNOON),
        capacity=(3, 10),
        weight=1,
        in_grid=True,
    ),
    ActivityTemplate(
        kind=ActivityKind.DELIBERATION,
        titles=(
            "红色议事厅：地下停车位议事会",
            "红色议事厅：老旧楼道照明改造",
            "红色议事厅：加装电梯意见征集",
            "红色议事厅：社区花园认领",
            "红色议事厅：电动车充电桩选址",
            "红色议事厅：楼门口堆物清理",
            "红色议事厅：物业服务满意度评议",
        ),
        description="居民代表、物业、共建单位一起议事协商，形成决议后公示。",
        organizer_keys=(COMMITTEE, "branch-1", "branch-2", "branch-3", "branch-4"),
        category_codes=("culture-recreation",),
        weekdays=(3, 5),
        slots=(EVENING,),
        capacity=(10, 30),
        weight=8,
    ),
    ActivityTemplate(
        kind=ActivityKind.COMMUNITY_EVENT,
        titles=(
            "邻里节·百家宴",
            "社区邻里运动会",
            "亲子读书会",
            "社区合唱团排练",
            "社区书画展",
            "家庭厨艺比赛",
            "社区电影夜",
        ),
        description="邻里相聚，志愿者负责布置场地、签到引导和秩序维护。",
        organizer_keys=("cyl-culture-association", COMMITTEE, "youth-team", "women-team"),
        category_codes=("culture-recreation",),
        weekdays=(6, 7),
        slots=(MORNING, AFTERNOON, EVENING),
        capacity=(10, 30),
        weight=10,
        skill_codes=("photography",),
    ),
)
