"""Generate tests/data/events_corpus.jsonl: ≥ 1,000 Chinese posts with planted near-duplicate
groups, for the clustering test (pairwise precision and recall ≥ 0.95).

Seeded and deterministic: `python tests/data/events_make_corpus.py` rewrites the same file.
Every story below is hand-written; the script only makes the copies a press office sees of
one story — reposts with comments and //@ chains (Weibo API style, with repost_of), reposts
quoting the original (RSS-bridge style), rewrites by other outlets (a word swapped, a
sentence dropped or added, an outlet's bracket, a hashtag, Traditional characters, full-width
digits) — and unrelated posts assembled from a pool of single sentences about the same
field, so "same topic, different story" is in the corpus too.

Each line: {"id", "text", "group", "repost_of"?}; group is the true event (singletons have
a group of their own).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import zhconv

OUT = Path(__file__).with_name("events_corpus.jsonl")

STORIES = [
    "郑州市金水区一名社区矫正对象在矫正期间多次擅自外出，区司法局依法提请撤销缓刑，法院已裁定收监执行。司法局表示将进一步加强电子定位监管。",
    "网友反映洛阳市某公证处办理继承公证要求提供的证明材料过多，跑了五趟还没办成。洛阳市司法局回应称已责令整改，推行“最多跑一次”清单。",
    "河南省司法厅发布2026年度法律援助民生实事进展：前三季度全省办理法律援助案件8.6万件，为农民工讨回欠薪4.3亿元。",
    "南阳市一律师事务所律师在代理案件中收取“风险代理费”后消极履职，当事人到司法局投诉。南阳市司法局已立案调查，涉事律师被暂停执业。",
    "新乡监狱开展“开放日”活动，邀请人大代表、政协委员和服刑人员家属走进监区，实地了解罪犯劳动改造和教育矫治情况。",
    "信阳市浉河区一村民因宅基地纠纷与邻居发生冲突，村人民调解委员会连续三天上门调解，双方最终签订调解协议，握手言和。",
    "网曝开封某司法鉴定机构出具的伤情鉴定意见前后矛盾，当事人质疑鉴定人未到场检查。开封市司法局表示已启动调查程序，将依法依规处理。",
    "河南省首届“法治文化节”在郑州开幕，全省各地推出普法文艺作品300余部，宪法宣传周期间将开展送法进乡村、进社区活动。",
    "商丘市一名刑满释放人员回乡后找工作屡屡碰壁，当地司法所联系企业为其提供岗位，并协调办理了低保和医保接续手续。",
    "周口市司法局推行“公证+金融”服务，为中小微企业提供线上赋强公证，办理时间由原来的7个工作日缩短至1天。",
    "有网友发帖称许昌市某法律服务所“黑律师”冒充执业律师代理诉讼收取高额费用，许昌市司法局连夜核查，已将线索移送公安机关。",
    "平顶山市在全市推行“一村一法律顾问”全覆盖，2600多个行政村都有了自己的法律顾问，群众通过微信群即可免费咨询法律问题。",
    "安阳市一起农民工讨薪纠纷中，法律援助律师仅用十天帮助23名工人拿回工资38万元，工人们送来锦旗表示感谢。",
    "焦作市某看守所被曝在押人员家属存钱须通过指定账户并收取手续费，焦作市司法局与公安部门联合调查，相关收费已叫停并退还。",
    "河南省司法厅召开全省行政复议工作会议，通报2026年以来全省各级行政复议机构受理案件1.2万件，纠错率为14.6%。",
    "漯河市司法局开展律师行业专项整治，对12家律师事务所进行执业检查，发现问题48个，责令限期整改，并约谈3家律所负责人。",
    "驻马店市一名老人遭遇“以房养老”骗局，人民调解员和法律援助律师联手介入，帮助老人追回被骗的房产，涉案人员已被刑事拘留。",
    "濮阳市司法局上线“智慧矫正”平台，对全市1800余名社区矫正对象实行电子围栏管理，越界自动报警，矫正工作人员随时掌握动态。",
    "三门峡市在黄河沿岸开展生态环境保护普法宣传，司法行政干警和志愿者走进沿河村庄，讲解黄河保护法和野生动物保护法。",
    "鹤壁市一家长因孩子在校受伤与学校协商未果，向医疗纠纷人民调解委员会申请调解，调解员请来第三方评估，双方达成赔偿协议。",
    "网友在领导留言板反映济源市某司法所工作人员态度生硬、推诿办事，济源市司法局回复称已对相关人员批评教育，并公开致歉。",
    "河南省监狱管理局通报：一名服刑人员在省某监狱突发疾病经抢救无效死亡，检察机关已介入调查，家属对死亡原因提出异议。",
    "河南省司法厅、省人社厅联合出台意见，明确律师事务所可以聘用法律专业毕业生担任律师助理，并给予一次性就业补贴。",
    "郑州市中原区公共法律服务中心启用“夜间窗口”，工作日延长服务至晚上八点，方便上班族办理公证、法律援助申请等事项。",
]

# Sentences for unrelated posts: one per line of thought, same field, different stories.
FRAGMENTS = [
    "今天去区公共法律服务中心咨询了劳动合同的问题，工作人员讲得很细。",
    "听了一场关于民法典婚姻家庭编的讲座，收获不少。",
    "小区物业乱收停车费，不知道该找哪个部门反映。",
    "法律援助申请需要准备身份证明和经济困难证明。",
    "县司法局组织了一次人民调解员业务培训，来了六十多人。",
    "公证处的排队叫号系统升级了，现在可以线上预约。",
    "我们村的法律明白人又给大家讲了土地承包的政策。",
    "律师费到底怎么收，有没有统一的标准？",
    "今年宪法宣传周学校组织了模拟法庭，孩子们都很兴奋。",
    "朋友借钱不还，打算先申请人民调解试试看。",
    "社区里新开了法律咨询角，每周三下午有律师坐班。",
    "听说司法考试今年报名人数又创新高。",
    "老家的房子拆迁补偿一直谈不拢，很着急。",
    "网上买的东西有质量问题，商家拒绝退货怎么办？",
    "市里举办了青年律师演讲比赛，主题是法治为民。",
    "监狱的远程视频会见让家属少跑了很多路。",
    "刚拿到仲裁裁决书，公司还是拖着不给钱。",
    "乡镇司法所只有两名工作人员，任务太重了。",
    "普法短视频做得挺有意思，点赞。",
    "交通事故责任认定有异议，可以申请复核吗？",
    "外卖骑手的工伤认定问题值得关注。",
    "在政务服务网上办理了法律援助，全程没跑腿。",
    "邻居装修噪音太大，调解员来了两次总算消停了。",
    "遗嘱公证和自书遗嘱的效力有什么区别？",
    "希望多开展针对老年人的防诈骗普法活动。",
    "派出所旁边的调解室挂上了新牌子。",
    "这次的行政复议结果还算公正。",
    "农村留守儿童的法治教育需要更多关注。",
    "律师协会发布了新的执业行为规范。",
    "市司法局公众号的法律问答栏目挺实用的。",
    "昨天参加了社区矫正志愿者的培训。",
    "听说明年要推行公证电子证照。",
    "企业合规不起诉制度对民营企业是好事。",
    "校园欺凌问题必须依法处理，不能大事化小。",
    "公司裁员没给补偿，准备去申请劳动仲裁。",
    "物业和业主委员会的纠纷越来越多。",
    "基层法律服务工作者的待遇偏低。",
    "希望公共法律服务热线能延长接听时间。",
    "去银行办业务被要求出具亲属关系公证，有点麻烦。",
    "学习了新修订的行政复议法，变化还挺大。",
    "网络直播带货的虚假宣传应该严管。",
    "退役军人法律援助工作站挂牌成立。",
    "今天陪父亲去做了司法鉴定，流程还算规范。",
    "高速公路上的交通违法处罚标准有调整。",
    "市里开展了打击非法集资宣传月活动。",
    "婚前财产协议需要公证吗？求懂的朋友解答。",
    "法院执行局的工作效率提高了。",
    "居委会请来律师给居民讲租房合同的风险。",
    "大学生法律援助社团走进了敬老院。",
    "看守所的伙食标准到底是怎样的？",
    "乡村振兴也离不开法治保障。",
    "调解协议经过司法确认才有强制执行力。",
    "电信诈骗的套路越来越多，大家要小心。",
    "城管执法和摊贩之间的矛盾怎么化解？",
    "公证员说继承公证现在不需要那么多材料了。",
    "村规民约的合法性审查很有必要。",
    "法治政府建设考核结果出来了。",
    "律师调查令让取证方便了很多。",
    "未成年人保护法的宣传要进家庭。",
    "司法所的同志帮我们写了起诉状，很感谢。",
    "刑满释放人员的安置帮教工作很重要。",
    "行政执法公示制度要落到实处。",
    "环境污染公益诉讼的案例越来越多了。",
    "社区的普法宣传栏更新了内容。",
    "企业欠薪问题年底特别突出。",
    "法律顾问审查合同能避免很多坑。",
    "今天的普法直播有三万多人观看。",
    "网上的法律咨询平台良莠不齐。",
    "专利侵权的维权成本太高了。",
    "老旧小区加装电梯的纠纷可以调解吗？",
    "听说人民陪审员的选任办法要改。",
    "戒毒所的开放日让人印象深刻。",
    "县里的法治文化广场建好了，晚上很多人散步。",
    "新就业形态劳动者权益保障需要新制度。",
    "医疗纠纷调解比打官司快多了。",
    "建议在火车站设立法律援助咨询点。",
    "合同里的格式条款要看清楚再签。",
    "这个月社区组织了两次反家暴宣传。",
    "律所招聘实习律师的要求越来越高。",
    "数据安全法对企业的影响不小。",
]

OUTLETS = ["大河报", "河南日报", "映象网", "顶端新闻", "法治日报", "河南法制报", "郑州晚报",
           "大象新闻", "人民网河南频道", "新华网河南频道"]
NAMES = ["中原老李", "豫见法治", "郑州小王", "律师张明", "河南网友", "法治观察员", "洛阳老街坊",
         "开封人", "普法君", "平安河南粉丝", "南阳小雨", "新乡打工人", "司法小助手", "焦作老刘"]
COMMENTS = ["转发微博", "关注", "支持依法处理", "这个必须严查！", "希望有个说法", "点赞",
            "真是太气人了", "司法局动作挺快", "早该这样了", "学习了", "转给身边的人看看",
            "给基层工作者点个赞", "期待后续", "有没有更详细的通报？", "这才是为人民服务"]
SYNONYMS = [("网友", "有网民"), ("表示", "称"), ("已", "已经"), ("依法", "依照法律"),
            ("开展", "举办"), ("反映", "反应"), ("群众", "老百姓"), ("近日", "日前"),
            ("调查", "核查"), ("全省", "河南全省"), ("帮助", "帮"), ("当地", "当地的")]
EXTRA_SENTENCES = ["记者了解到，相关工作仍在推进中。", "此事引发网友广泛关注。",
                   "对此，当地有关部门作出回应。", "后续进展本报将持续关注。"]
TAGS = ["#河南司法#", "#法治河南#", "#身边的法治#", "#司法为民#"]


def light_edit(rng: random.Random, text: str) -> str:
    """An outlet's rewrite of a story: a few of the edits a newsroom makes."""
    sentences = [s for s in text.replace("。", "。\n").split("\n") if s]
    if len(sentences) > 2 and rng.random() < 0.3:
        sentences.pop(rng.randrange(1, len(sentences)))
    if rng.random() < 0.4:
        sentences.append(rng.choice(EXTRA_SENTENCES))
    out = "".join(sentences)
    for a, b in rng.sample(SYNONYMS, 2):
        out = out.replace(a, b, 1)
    if rng.random() < 0.5:
        out = f"【{rng.choice(OUTLETS)}】" + out
    if rng.random() < 0.3:
        out = out + f"（记者 {rng.choice('王李张刘陈杨赵黄')}{rng.choice('明华伟静军')}）"
    if rng.random() < 0.3:
        out = rng.choice(TAGS) + out
    if rng.random() < 0.15:
        out = zhconv.convert(out, "zh-tw")
    if rng.random() < 0.2:
        out = out.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    return out


def weibo_repost(rng: random.Random, chain_depth: int) -> str:
    parts = [rng.choice(COMMENTS)]
    for _ in range(chain_depth):
        parts.append(f"//@{rng.choice(NAMES)}:{rng.choice(COMMENTS)}")
    return "".join(parts)


def bridge_repost(rng: random.Random, original: str, author: str) -> str:
    return f"{rng.choice(COMMENTS)} 转发 @{author}：{original}"


def make(seed: int = 20261127) -> list[dict[str, object]]:
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    serial = 0

    def new_id() -> str:
        nonlocal serial
        serial += 1
        return f"P{serial:05d}"

    for g, story in enumerate(STORIES):
        group = f"story{g:02d}"
        size = rng.randint(12, 40)
        origin_id = new_id()
        origin_author = rng.choice(NAMES)
        rows.append({"id": origin_id, "text": story, "group": group})
        versions = [(origin_id, story)]
        for _ in range(size - 1):
            r = rng.random()
            if r < 0.40:  # Weibo API repost: names its original (maybe via a version)
                target_id, _text = rng.choice(versions)
                rows.append({"id": new_id(), "text": weibo_repost(rng, rng.randint(0, 3)),
                             "group": group, "repost_of": target_id})
            elif r < 0.55:  # RSS-bridge repost quoting the original text
                rows.append({"id": new_id(), "group": group,
                             "text": bridge_repost(rng, story, origin_author)})
            else:  # another outlet's rewrite
                vid = new_id()
                text = light_edit(rng, story)
                versions.append((vid, text))
                rows.append({"id": vid, "text": text, "group": group})
    # Unrelated posts: three sentences each, and no two posts share more than one sentence —
    # two posts that share two of three sentences *are* near-duplicates, whatever the label.
    singles = 0
    used_pairs: set[frozenset[int]] = set()
    while len(rows) < 1050:
        picked = rng.sample(range(len(FRAGMENTS)), 3)
        pairs = {frozenset((a, b)) for a in picked for b in picked if a < b}
        if pairs & used_pairs:
            continue
        used_pairs |= pairs
        rows.append({"id": new_id(), "text": "".join(FRAGMENTS[i] for i in picked),
                     "group": f"single{singles:04d}"})
        singles += 1
    rng.shuffle(rows)
    return rows


def main() -> None:
    rows = make()
    with OUT.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} posts to {OUT}")


if __name__ == "__main__":
    main()
