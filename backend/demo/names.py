"""Word lists the demo community is built from: people's names, streets, phone prefixes.

Kept apart from the builder so that the builder reads as a sequence of steps, and so that
changing a list (which changes the generated data) is an obvious, reviewable diff. The
tables are exempt from the formatter, which would put every word on a line of its own.
"""

# fmt: off

# Common surnames with rough relative frequencies, so that 王/李/张 dominate as they do in
# a real resident register instead of every surname being equally likely.
SURNAMES: tuple[tuple[str, int], ...] = (
    ("王", 72), ("李", 70), ("张", 66), ("刘", 54), ("陈", 44), ("杨", 31), ("赵", 21),
    ("黄", 18), ("周", 17), ("吴", 16), ("徐", 13), ("孙", 13), ("胡", 10), ("朱", 10),
    ("高", 10), ("林", 9), ("何", 9), ("郭", 9), ("马", 9), ("罗", 7), ("梁", 6),
    ("宋", 6), ("郑", 6), ("谢", 5), ("韩", 5), ("唐", 5), ("冯", 5), ("于", 5),
    ("董", 5), ("萧", 4), ("程", 4), ("曹", 4), ("袁", 4), ("邓", 4), ("许", 4),
    ("傅", 3), ("沈", 3), ("曾", 3), ("彭", 3), ("吕", 3), ("苏", 3), ("卢", 3),
    ("蒋", 3), ("蔡", 3), ("贾", 3), ("丁", 3), ("魏", 3), ("薛", 3), ("叶", 3),
    ("阎", 2), ("余", 2), ("潘", 2), ("杜", 2), ("戴", 2), ("夏", 2), ("钟", 2),
    ("汪", 2), ("田", 2), ("任", 2), ("姜", 2), ("范", 2), ("方", 2), ("石", 2),
    ("姚", 2), ("谭", 2), ("廖", 2), ("邹", 2), ("熊", 2), ("金", 2), ("陆", 2),
    ("郝", 2), ("孔", 2), ("白", 2), ("崔", 2), ("康", 2), ("毛", 2), ("邱", 2),
    ("秦", 2), ("江", 2), ("史", 2), ("顾", 2), ("侯", 2), ("邵", 2), ("孟", 2),
    ("龙", 1), ("万", 1), ("段", 1), ("雷", 1), ("钱", 1), ("汤", 1), ("尹", 1),
    ("黎", 1), ("易", 1), ("常", 1), ("武", 1), ("乔", 1), ("贺", 1), ("赖", 1),
    ("龚", 1), ("文", 1), ("欧阳", 1), ("司马", 1),
)

# Characters that appear in given names across generations (淑/秀/桂 for the retirees who
# are most of a community's volunteers, 子/涵/宇 for the young ones).
GIVEN_NAME_CHARACTERS: tuple[str, ...] = tuple(
    "淑秀桂兰凤英华玉珍芳丽敏静霞红梅艳娟萍燕琴云莲荣"
    "国建军明伟强平志勇海林波涛刚永健斌鹏宏杰德福贵庆"
    "文俊博浩宇轩子涵欣怡雨萱思嘉晨阳宁婷雪佳琪晓瑞安"
    "春秋冬利民新立成振兴家凯磊鑫慧颖倩彤"
)

# Forms of address used for the contact of a small home-service point (a barber, a tailor):
# residents know them as 王师傅 or 李阿姨 rather than by full name.
CONTACT_TITLES: tuple[str, ...] = ("师傅", "阿姨", "大姐", "老师")

# Roads of Heping District (the concession-era grid around 小白楼 and 五大道).
HEPING_ROADS: tuple[str, ...] = (
    "南京路", "成都道", "贵州路", "桂林路", "西康路", "岳阳道", "重庆道", "大理道",
    "睦南道", "马场道", "常德道", "河北路", "湖南路", "山西路", "昆明路", "新华路",
    "建设路", "曲阜道", "开封道", "徐州道", "浙江路", "南昌路", "长沙路", "洛阳道",
    "郑州道", "贵阳路", "云南路", "四川路", "西安道", "保定道", "营口道", "河南路",
)

# Lane compounds (里) of the kind the community is named after.
COMPOUNDS: tuple[str, ...] = (
    "朝阳里", "福安里", "大兴里", "仁和里", "同庆里", "德安里", "松竹里", "永康里",
    "吉祥里", "昌平里", "永和里", "安善里", "兴业里", "复兴里",
)

# Mobile number prefixes of the three carriers; with 8 more digits they make an 11-digit
# mainland number, written in E.164 as +86 followed by it.
MOBILE_PREFIXES: tuple[str, ...] = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
    "153", "155", "156", "158", "159", "176", "177", "180", "185", "186", "187", "188",
    "189", "199",
)

CHINESE_ORDINALS: tuple[str, ...] = (
    "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二",
)

# fmt: on

# Tianjin's area code in E.164 form (022 dialled at home).
TIANJIN_LANDLINE_PREFIX = "+8622"
