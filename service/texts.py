"""Every word a person reads, in English, Korean and Chinese.

Pure data and small formatting functions: the kind names, what each deadline
is, what a miss costs and what to do (from DOMAIN.md), plus the strings that
emails, the calendar feed and the confirmation page share. Unknown languages
fall back to English; custom deadlines are named by their ``title``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from service.kinds import Language


@dataclass(frozen=True, slots=True)
class KindText:
    """What one deadline kind is called and says, in one language.

    ``due`` and ``past`` are headlines with ``{date}`` (and ``{covers}``,
    ``{title}``) placeholders: ``due`` while the date is ahead, ``past`` once it
    has gone by. ``action`` is the label of the acknowledge button/page.
    """

    name: str
    what: str | None
    consequence: str | None
    advice: tuple[str, ...]
    due: str
    past: str
    action: str
    window: str | None = None


_CHECK: dict[Language, str] = {
    "en": "Check HiKorea or call 1345 (immigration) / 1577-1000 (NHIS).",
    "ko": "자세한 내용은 하이코리아에서 확인하거나 1345(외국인종합안내센터) / "
    "1577-1000(국민건강보험공단)으로 문의하세요.",
    "zh": "详情请查看HiKorea，或致电1345（外国人综合咨询中心）/ 1577-1000（国民健康保险公团）。",
}

_AUTOPAY: dict[Language, str] = {
    "en": "Auto-debit is set up: make sure the account holds enough on the due date.",
    "ko": "자동이체가 신청되어 있습니다. 납부일에 계좌 잔액이 충분한지 확인하세요.",
    "zh": "您已开通自动扣款，请确保扣款日账户余额充足。",
}

KIND_TEXTS: dict[str, dict[Language, KindText]] = {
    "stay_expiry": {
        "en": KindText(
            name="Period of stay (visa) expiry",
            what=(
                "The last day of your period of stay, as printed on your residence card or "
                "e-permit. You can apply for an extension from four months before this date "
                "up to the date itself (Immigration Act art. 25)."
            ),
            consequence=(
                "Missing it means overstaying: there is a penalty even for one day late, and "
                "in serious cases deportation and up to 3 years in prison or a fine of up to "
                "KRW 20 million (arts. 46, 94). Unpaid NHIS premiums can limit or block the "
                "extension."
            ),
            advice=(
                "Apply on HiKorea (e-Application > extension of sojourn period; weekdays "
                "07:00-22:00), or book a visit at your immigration office.",
                "Bring your passport, residence card, proof of residence and the documents "
                "your status requires.",
                "The fee is KRW 60,000 (KRW 50,000 online).",
            ),
            due="Visa (period of stay) expires {date}",
            past="Visa (period of stay) expired {date}",
            action="Mark the visa (period of stay) ending {date} as handled",
            window="Extension window open",
        ),
        "ko": KindText(
            name="체류기간 만료",
            what=(
                "외국인등록증(또는 전자 체류허가서)에 적힌 체류기간의 마지막 날입니다. "
                "체류기간 연장은 만료일 4개월 전부터 만료일 당일까지 신청할 수 있습니다"
                "(출입국관리법 제25조)."
            ),
            consequence=(
                "기한을 넘기면 불법체류가 됩니다. 하루만 늦어도 범칙금이 부과되고, 심하면 "
                "강제퇴거와 함께 3년 이하의 징역 또는 2천만 원 이하의 벌금에 처해질 수 "
                "있습니다(제46조, 제94조). 건강보험료가 체납되어 있으면 연장이 제한되거나 "
                "거부될 수 있습니다."
            ),
            advice=(
                "하이코리아 전자민원에서 '체류기간 연장허가'를 신청하거나(평일 07:00~22:00), "
                "관할 출입국·외국인관서 방문을 예약하세요.",
                "여권, 외국인등록증, 체류지 입증서류, 체류자격별 제출서류를 준비하세요.",
                "수수료는 6만 원입니다(전자민원은 5만 원).",
            ),
            due="체류기간이 {date}에 만료됩니다",
            past="체류기간이 {date}에 만료되었습니다",
            action="{date} 만료 체류기간 처리 완료로 표시",
            window="체류기간 연장 신청 기간",
        ),
        "zh": KindText(
            name="居留期限到期",
            what=(
                "这是您外国人登录证（或电子居留许可）上记载的居留期限的最后一天。"
                "延长居留期限可在到期前4个月起至到期当天申请（《出入境管理法》第25条）。"
            ),
            consequence=(
                "错过期限即构成非法滞留：哪怕只晚一天也会被罚款，情节严重的可能被驱逐出境，"
                "并处3年以下有期徒刑或2000万韩元以下罚金（第46条、第94条）。"
                "如有未缴的健康保险费，延期申请可能受限或被拒。"
            ),
            advice=(
                "在HiKorea电子申请中提交“延长居留期限”申请（工作日07:00–22:00），"
                "或预约前往管辖的出入境管理机关办理。",
                "请备好护照、外国人登录证、居住证明以及您的居留资格所需的材料。",
                "手续费为6万韩元（网上申请5万韩元）。",
            ),
            due="居留期限将于{date}到期",
            past="居留期限已于{date}到期",
            action="将{date}到期的居留期限标记为已办理",
            window="可申请延长居留期限",
        ),
    },
    "arc_registration": {
        "en": KindText(
            name="Foreigner registration (residence card)",
            what=(
                "Anyone staying in Korea for more than 90 days must register within 90 days "
                "of entry (Immigration Act art. 31). The day of entry counts as day 1, so the "
                "last day is 89 days after entry."
            ),
            consequence=(
                "A penalty that grows with the delay; in serious cases up to 1 year in prison "
                "or a fine of up to KRW 10 million (arts. 46, 95)."
            ),
            advice=(
                "Book a visit (방문예약) on HiKorea at the immigration office for your address "
                "now: slots run out.",
                "Bring your passport, one 3.5 x 4.5 cm photo, proof of residence, the documents "
                "your status requires and the fee.",
            ),
            due="Register as a foreign resident by {date}",
            past="Foreigner registration was due {date}",
            action="Mark foreigner registration (due {date}) as done",
            window="Registration window open",
        ),
        "ko": KindText(
            name="외국인등록",
            what=(
                "90일을 넘게 체류하는 외국인은 입국일부터 90일 이내에 외국인등록을 해야 "
                "합니다(출입국관리법 제31조). 입국한 날을 첫째 날로 세므로 마지막 날은 "
                "입국일로부터 89일 뒤입니다."
            ),
            consequence=(
                "늦어진 기간에 따라 범칙금이 커지며, 심하면 1년 이하의 징역 또는 1천만 원 "
                "이하의 벌금에 처해질 수 있습니다(제46조, 제95조)."
            ),
            advice=(
                "하이코리아에서 주소지 관할 출입국·외국인관서 방문예약을 지금 해 두세요. "
                "예약이 금방 찹니다.",
                "여권, 사진 1매(3.5×4.5cm), 체류지 입증서류, 체류자격별 제출서류와 수수료를 "
                "준비하세요.",
            ),
            due="외국인등록 기한은 {date}입니다",
            past="외국인등록 기한이 지났습니다: {date}",
            action="외국인등록(기한 {date}) 완료로 표시",
            window="외국인등록 신청 기간",
        ),
        "zh": KindText(
            name="外国人登录",
            what=(
                "在韩国居留超过90天的外国人，须在入境之日起90天内办理外国人登录"
                "（《出入境管理法》第31条）。入境当天算作第1天，因此最后期限是入境后的第89天。"
            ),
            consequence=(
                "罚款随逾期时间增加；情节严重的，可处1年以下有期徒刑或1000万韩元以下罚金"
                "（第46条、第95条）。"
            ),
            advice=(
                "请尽快在HiKorea上预约（방문예약）前往居住地管辖的出入境管理机关，名额很快就会约满。",
                "请备好护照、3.5×4.5厘米照片1张、居住证明、您的居留资格所需的材料以及手续费。",
            ),
            due="请在{date}前办理外国人登录",
            past="外国人登录期限{date}已过",
            action="将外国人登录（期限{date}）标记为已完成",
            window="可办理外国人登录",
        ),
    },
    "arc_expiry": {
        "en": KindText(
            name="Permanent residence card (F-5) reissue",
            what=(
                "The expiry date on your permanent resident card. Cards issued since "
                "21 September 2018 are valid for 10 years and must be reissued before they "
                "expire."
            ),
            consequence="An administrative fine of up to KRW 2,000,000.",
            advice=(
                "Book a visit on HiKorea to have the card reissued.",
                "Bring your passport, your current card, one photo and the fee.",
            ),
            due="Permanent residence card (F-5) expires {date}",
            past="Permanent residence card (F-5) expired {date}",
            action="Mark the F-5 card reissue (card expires {date}) as done",
        ),
        "ko": KindText(
            name="영주증(F-5) 재발급",
            what=(
                "영주증에 적힌 유효기간 만료일입니다. 2018년 9월 21일 이후 발급된 영주증은 "
                "10년간 유효하며, 만료 전에 재발급을 받아야 합니다."
            ),
            consequence="200만 원 이하의 과태료가 부과될 수 있습니다.",
            advice=(
                "하이코리아에서 영주증 재발급 방문예약을 하세요.",
                "여권, 지금 가진 영주증, 사진 1매, 수수료를 준비하세요.",
            ),
            due="영주증(F-5)이 {date}에 만료됩니다",
            past="영주증(F-5)이 {date}에 만료되었습니다",
            action="영주증 재발급(만료 {date}) 완료로 표시",
        ),
        "zh": KindText(
            name="永久居留证（F-5）换发",
            what=(
                "这是您永久居留证上记载的有效期截止日。2018年9月21日以后签发的永久居留证"
                "有效期为10年，须在到期前办理换发。"
            ),
            consequence="可能被处以最高200万韩元的罚款。",
            advice=(
                "请在HiKorea上预约前往出入境管理机关换发永久居留证。",
                "请备好护照、现有的永久居留证、照片1张及手续费。",
            ),
            due="永久居留证（F-5）将于{date}到期",
            past="永久居留证（F-5）已于{date}到期",
            action="将永久居留证换发（{date}到期）标记为已完成",
        ),
    },
    "address_report": {
        "en": KindText(
            name="Change of address report",
            what=(
                "After moving you must report your new address. The law gives 15 days from "
                "moving in (art. 36); it used to be 14, and staywatch keeps the safer 14 days."
            ),
            consequence="A fine of up to KRW 1,000,000.",
            advice=(
                "Report it on HiKorea, at your gu office or community centre (주민센터), or at "
                "the immigration office.",
                "Bring your residence card, passport and your lease or accommodation confirmation.",
            ),
            due="Report your new address by {date}",
            past="Your address report was due {date}",
            action="Mark the address report (due {date}) as done",
            window="Address report window open",
        ),
        "ko": KindText(
            name="체류지 변경 신고",
            what=(
                "이사를 하면 새 체류지를 신고해야 합니다. 법은 전입한 날부터 15일 이내로 "
                "정하고 있지만(제36조), 예전 기준이 14일이었으므로 staywatch는 더 안전한 "
                "14일을 기한으로 잡습니다."
            ),
            consequence="100만 원 이하의 과태료가 부과될 수 있습니다.",
            advice=(
                "하이코리아 전자민원, 구청·주민센터, 또는 출입국·외국인관서에서 신고할 수 "
                "있습니다.",
                "외국인등록증, 여권, 임대차계약서나 숙소제공확인서를 준비하세요.",
            ),
            due="체류지 변경 신고 기한은 {date}입니다",
            past="체류지 변경 신고 기한이 지났습니다: {date}",
            action="체류지 변경 신고(기한 {date}) 완료로 표시",
            window="체류지 변경 신고 기간",
        ),
        "zh": KindText(
            name="居留地变更申报",
            what=(
                "搬家后须申报新的居留地址。法律规定自迁入之日起15天内申报（第36条）；"
                "以前的规定是14天，staywatch按更稳妥的14天计算。"
            ),
            consequence="可能被处以最高100万韩元的罚款。",
            advice=(
                "可在HiKorea网上申报，也可前往区厅、居民中心（주민센터）或出入境管理机关办理。",
                "请备好外国人登录证、护照以及租房合同或住宿提供确认书。",
            ),
            due="请在{date}前申报居留地变更",
            past="居留地变更申报期限{date}已过",
            action="将居留地变更申报（期限{date}）标记为已完成",
            window="可申报居留地变更",
        ),
    },
    "nhis_premium": {
        "en": KindText(
            name="NHIS health insurance premium",
            what=(
                "The monthly National Health Insurance premium. Foreign residents pay each "
                "month in advance, by the 25th of the month before (F-5 and F-6 holders: by "
                "the 10th of the month after). A due date on a weekend or holiday moves to "
                "the next business day."
            ),
            consequence=(
                "An arrears charge grows every day (1/1500 a day up to 2%, then 1/6000 a day "
                "up to 5%). Benefits are suspended from the 1st of the next month until you "
                "pay, and unpaid months shorten (3 months or fewer) or block (4 or more) your "
                "next visa extension."
            ),
            advice=(
                "Pay in The건강보험 app, by virtual account or bank, or by card at an NHIS branch.",
                "Auto-debit saves you the trouble and KRW 200 a month.",
                "Check the balance on the NHIS website or app and keep the receipt.",
                "Help in foreign languages: 033-811-2000.",
            ),
            due="NHIS premium for {covers} due {date}",
            past="NHIS premium for {covers} was due {date}",
            action="Mark NHIS premium for {covers} as paid",
        ),
        "ko": KindText(
            name="건강보험료 납부",
            what=(
                "매달 내는 국민건강보험료입니다. 외국인은 해당 월 보험료를 전달 25일까지 "
                "미리 냅니다(F-5·F-6은 다음 달 10일까지). 납부기한이 주말이나 공휴일이면 "
                "다음 영업일로 넘어갑니다."
            ),
            consequence=(
                "연체금이 날마다 붙습니다(하루 1/1500씩 최대 2%, 그 뒤 하루 1/6000씩 최대 "
                "5%). 다음 달 1일부터 완납할 때까지 보험급여가 제한되고, 체납이 3개월 "
                "이하이면 다음 체류기간 연장이 짧아지며 4개월 이상이면 연장이 거부될 수 "
                "있습니다."
            ),
            advice=(
                "The건강보험 앱, 가상계좌나 은행, 또는 공단 지사에서 카드로 낼 수 있습니다.",
                "자동이체를 신청하면 매달 200원이 감액되고 잊을 걱정도 없습니다.",
                "공단 홈페이지나 앱에서 납부 내역을 확인하고 영수증을 보관하세요.",
                "외국어 상담: 033-811-2000.",
            ),
            due="{covers}분 건강보험료 납부 기한은 {date}입니다",
            past="{covers}분 건강보험료 납부 기한이 지났습니다: {date}",
            action="{covers}분 건강보험료 납부 완료로 표시",
        ),
        "zh": KindText(
            name="国民健康保险费缴纳",
            what=(
                "每月缴纳的国民健康保险费。外国人须在上个月25日前预缴当月的保险费"
                "（F-5、F-6持有者在次月10日前缴纳）。缴费期限如遇周末或公休日，顺延至下一个工作日。"
            ),
            consequence=(
                "每天都会产生滞纳金（每天1/1500，最高2%；之后每天1/6000，最高5%）。"
                "从下个月1日起至缴清为止，医保待遇将被暂停；欠费3个月以下会缩短下次居留延期的期限，"
                "4个月以上可能无法延期。"
            ),
            advice=(
                "可通过The건강보험 App、虚拟账户或银行缴纳，也可到公团分支机构刷卡缴纳。",
                "开通自动扣款既省心，每月还可减免200韩元。",
                "请在国民健康保险公团网站或App上确认缴费记录，并保留收据。",
                "外语咨询电话：033-811-2000。",
            ),
            due="{covers}的健康保险费须在{date}前缴纳",
            past="{covers}的健康保险费缴纳期限{date}已过",
            action="将{covers}的健康保险费标记为已缴纳",
        ),
    },
    "passport_expiry": {
        "en": KindText(
            name="Passport expiry",
            what=(
                "The expiry date of your passport. Since 1 July 2021 a period of stay is "
                "granted only within your passport's validity, and renewing at an embassy "
                "can take months."
            ),
            consequence=(
                "Your next period of stay can be cut short to the passport's expiry, and you "
                "cannot travel on an expired passport. A new passport must be reported to "
                "immigration within 15 days (art. 35)."
            ),
            advice=(
                "Start the renewal at your embassy or consulate now.",
                "When you have the new passport, report it to immigration within 15 days "
                "(on HiKorea or in person). Your office can add that report to staywatch as a "
                "registration_change deadline, so you get reminders for it too.",
            ),
            due="Passport expires {date}",
            past="Passport expired {date}",
            action="Mark the passport expiring {date} as renewed",
        ),
        "ko": KindText(
            name="여권 만료",
            what=(
                "여권의 유효기간 만료일입니다. 2021년 7월 1일부터 체류기간은 여권 유효기간 "
                "안에서만 허가되며, 대사관에서 여권을 새로 받는 데 몇 달이 걸리기도 합니다."
            ),
            consequence=(
                "다음 체류기간이 여권 만료일까지로 줄어들 수 있고, 만료된 여권으로는 출국할 "
                "수 없습니다. 새 여권을 받으면 15일 이내에 출입국·외국인관서에 신고해야 "
                "합니다(제35조)."
            ),
            advice=(
                "지금 대사관이나 영사관에서 여권 갱신을 시작하세요.",
                "새 여권을 받으면 15일 이내에 출입국·외국인관서에 신고하세요(하이코리아 또는 "
                "방문). 담당자가 이 신고를 staywatch에 registration_change 기한으로 추가하면 "
                "그 알림도 받을 수 있습니다.",
            ),
            due="여권이 {date}에 만료됩니다",
            past="여권이 {date}에 만료되었습니다",
            action="{date} 만료 여권 갱신 완료로 표시",
        ),
        "zh": KindText(
            name="护照到期",
            what=(
                "这是您护照的有效期截止日。自2021年7月1日起，居留期限只在护照有效期内批准，"
                "而在使领馆换发护照可能需要好几个月。"
            ),
            consequence=(
                "下次获批的居留期限可能被缩短到护照到期日，护照过期后也无法出境。"
                "换领新护照后，须在15天内向出入境管理机关申报（第35条）。"
            ),
            advice=(
                "请现在就到使馆或领事馆办理护照换发。",
                "拿到新护照后，请在15天内向出入境管理机关申报（HiKorea网上或现场办理）。"
                "负责人可以把这项申报作为registration_change期限加入staywatch，您也会收到提醒。",
            ),
            due="护照将于{date}到期",
            past="护照已于{date}到期",
            action="将{date}到期的护照标记为已换发",
        ),
    },
    # -- re-entry, changes of registration, newborns, age 17, E-9 workplace change,
    # NHIS enrolment (DOMAIN.md's sections of those names) ------------------------------
    "reentry": {
        "en": KindText(
            name="Re-entry to Korea",
            what=(
                "After you leave Korea, you can come back without a re-entry permit within "
                "one year (two years for permanent residents, F-5), but not after your period "
                "of stay ends (Immigration Act art. 30). The date above is whichever comes "
                "first."
            ),
            consequence=(
                "If you come back later, your status of stay and your foreigner registration "
                "are gone, unless you got a re-entry permit (재입국허가) before you left. You "
                "would need a new visa."
            ),
            advice=(
                "Book your flight so that you land in Korea on or before this date.",
                "If you cannot come back in time, apply for a re-entry permit (재입국허가) or "
                "an extension before this date: call 1345 or check HiKorea. An embassy or "
                "consulate abroad cannot extend it.",
            ),
            due="Be back in Korea by {date}",
            past="Your re-entry deadline was {date}",
            action="Mark your return to Korea (by {date}) as done",
        ),
        "ko": KindText(
            name="재입국 기한",
            what=(
                "출국한 날부터 1년(영주자격 F-5는 2년) 안에 다시 들어오면 재입국허가 없이 "
                "입국할 수 있습니다. 다만 체류기간이 끝난 뒤에는 안 됩니다(출입국관리법 "
                "제30조). 위 날짜는 둘 중 먼저 오는 날입니다."
            ),
            consequence=(
                "이 날짜가 지나서 입국하면 체류자격과 외국인등록이 없어집니다. 출국 전에 "
                "재입국허가를 받아 두지 않았다면 비자를 새로 받아야 합니다."
            ),
            advice=(
                "이 날짜까지 한국에 도착하도록 항공편을 예약하세요.",
                "제때 돌아올 수 없다면 이 날짜 전에 재입국허가나 체류기간 연장을 신청하세요. "
                "1345에 전화하거나 하이코리아에서 확인하세요. 해외 공관에서는 연장해 주지 "
                "않습니다.",
            ),
            due="{date}까지 한국에 돌아와야 합니다",
            past="재입국 기한이 지났습니다: {date}",
            action="재입국(기한 {date}) 완료로 표시",
        ),
        "zh": KindText(
            name="再入境期限",
            what=(
                "出境后1年内（永久居留F-5为2年）返回韩国，无需再入境许可，"
                "但不能晚于居留期限的截止日（《出入境管理法》第30条）。上面的日期是两者中较早的一天。"
            ),
            consequence=(
                "如果晚于这一天入境，您的居留资格和外国人登录就会失效；"
                "除非出境前已取得再入境许可（재입국허가），否则需要重新申请签证。"
            ),
            advice=(
                "请预订返程机票，确保在这一天或之前抵达韩国。",
                "如果无法按时返回，请在这一天之前申请再入境许可（재입국허가）或延长居留期限："
                "请致电1345或查看HiKorea。驻外使领馆无法为您延期。",
            ),
            due="请在{date}前返回韩国",
            past="再入境期限{date}已过",
            action="将返回韩国（期限{date}）标记为已完成",
        ),
    },
    "registration_change": {
        "en": KindText(
            name="Report of a change of registration",
            what=(
                "A change to what your foreigner registration records (a new passport, your "
                "name or nationality, and for some statuses your workplace or school) must be "
                "reported to immigration within 15 days (Immigration Act art. 35, "
                "외국인등록사항 변경신고). staywatch reminds you a day early."
            ),
            consequence="An administrative fine of up to KRW 1,000,000.",
            advice=(
                "Report it on HiKorea (e-Application > change of registration, "
                "외국인등록사항 변경신고) or at your immigration office.",
                "Bring your residence card, your passport (the new and the old one) and proof "
                "of the change.",
            ),
            due="Report the change of your registration by {date}",
            past="Your change of registration report was due {date}",
            action="Mark the change of registration report (due {date}) as done",
            window="Change report window open",
        ),
        "ko": KindText(
            name="외국인등록사항 변경신고",
            what=(
                "외국인등록 내용(새 여권, 이름, 국적, 체류자격에 따라 근무처나 학교)이 바뀌면 "
                "15일 이내에 출입국·외국인관서에 신고해야 합니다(출입국관리법 제35조). "
                "staywatch는 하루 일찍 알려 드립니다."
            ),
            consequence="100만 원 이하의 과태료가 부과될 수 있습니다.",
            advice=(
                "하이코리아 전자민원에서 '외국인등록사항 변경신고'를 하거나 관할 "
                "출입국·외국인관서를 방문하세요.",
                "외국인등록증, 여권(새 여권과 예전 여권), 변경 사실을 증명하는 서류를 준비하세요.",
            ),
            due="외국인등록사항 변경신고 기한은 {date}입니다",
            past="외국인등록사항 변경신고 기한이 지났습니다: {date}",
            action="외국인등록사항 변경신고(기한 {date}) 완료로 표시",
            window="변경신고 기간",
        ),
        "zh": KindText(
            name="外国人登录事项变更申报",
            what=(
                "外国人登录的内容（换了新护照、姓名或国籍，以及部分居留资格的工作单位或学校）"
                "发生变化时，须在15天内向出入境管理机关申报"
                "（《出入境管理法》第35条，외국인등록사항 변경신고）。staywatch会提前一天提醒您。"
            ),
            consequence="可能被处以最高100万韩元的罚款。",
            advice=(
                "请在HiKorea电子申请中提交“外国人登录事项变更申报”（외국인등록사항 변경신고），"
                "或前往管辖的出入境管理机关办理。",
                "请备好外国人登录证、护照（新旧护照）以及证明变更的材料。",
            ),
            due="请在{date}前申报外国人登录事项变更",
            past="外国人登录事项变更申报期限{date}已过",
            action="将外国人登录事项变更申报（期限{date}）标记为已完成",
            window="可申报登录事项变更",
        ),
    },
    "registration_change:passport": {
        "en": KindText(
            name="Report of a new passport",
            what=(
                "You have a new passport. It must be reported to immigration within 15 days "
                "(Immigration Act art. 35, 외국인등록사항 변경신고). staywatch reminds you a "
                "day early."
            ),
            consequence="An administrative fine of up to KRW 1,000,000.",
            advice=(
                "Report it on HiKorea (e-Application > change of registration, "
                "외국인등록사항 변경신고) or at your immigration office.",
                "Bring your residence card and both passports, the new and the old one.",
            ),
            due="Report your new passport by {date}",
            past="Your new passport report was due {date}",
            action="Mark the new passport report (due {date}) as done",
            window="New passport report window open",
        ),
        "ko": KindText(
            name="새 여권 신고",
            what=(
                "여권을 새로 받았으면 15일 이내에 출입국·외국인관서에 신고해야 합니다"
                "(출입국관리법 제35조, 외국인등록사항 변경신고). staywatch는 하루 일찍 알려 "
                "드립니다."
            ),
            consequence="100만 원 이하의 과태료가 부과될 수 있습니다.",
            advice=(
                "하이코리아 전자민원에서 '외국인등록사항 변경신고'를 하거나 관할 "
                "출입국·외국인관서를 방문하세요.",
                "외국인등록증과 새 여권, 예전 여권을 모두 준비하세요.",
            ),
            due="새 여권 신고 기한은 {date}입니다",
            past="새 여권 신고 기한이 지났습니다: {date}",
            action="새 여권 신고(기한 {date}) 완료로 표시",
            window="새 여권 신고 기간",
        ),
        "zh": KindText(
            name="新护照申报",
            what=(
                "换领新护照后，须在15天内向出入境管理机关申报"
                "（《出入境管理法》第35条，외국인등록사항 변경신고）。staywatch会提前一天提醒您。"
            ),
            consequence="可能被处以最高100万韩元的罚款。",
            advice=(
                "请在HiKorea电子申请中提交“外国人登录事项变更申报”（외국인등록사항 변경신고），"
                "或前往管辖的出入境管理机关办理。",
                "请备好外国人登录证以及新旧两本护照。",
            ),
            due="请在{date}前申报新护照",
            past="新护照申报期限{date}已过",
            action="将新护照申报（期限{date}）标记为已完成",
            window="可申报新护照",
        ),
    },
    "newborn_status": {
        "en": KindText(
            name="Status of stay for a child born in Korea",
            what=(
                "A foreign child born in Korea needs a status of stay within 90 days of birth "
                "(Immigration Act art. 23, 체류자격 부여). The day of birth counts as day 1."
            ),
            consequence=(
                "After 90 days the child stays in Korea without a status of stay, and a fine "
                "can follow."
            ),
            advice=(
                "Apply for the grant of a status of stay (체류자격 부여) at your immigration "
                "office; book the visit on HiKorea (방문예약).",
                "Bring the birth certificate, both parents' residence cards, the child's "
                "passport if it is issued already, and the fee.",
                "You can register the child as a foreign resident (외국인등록) at the same visit.",
            ),
            due="Apply for your child's status of stay by {date}",
            past="Your child's status of stay was due {date}",
            action="Mark your child's status of stay (due {date}) as done",
            window="Status of stay application window open",
        ),
        "ko": KindText(
            name="출생 자녀 체류자격 부여",
            what=(
                "한국에서 태어난 외국인 자녀는 출생한 날부터 90일 이내에 체류자격을 받아야 "
                "합니다(출입국관리법 제23조). 출생일을 첫째 날로 셉니다."
            ),
            consequence=(
                "90일이 지나면 자녀가 체류자격 없이 머무르게 되고, 과태료나 범칙금이 "
                "부과될 수 있습니다."
            ),
            advice=(
                "하이코리아에서 방문예약을 하고 출입국·외국인관서에서 '체류자격 부여'를 "
                "신청하세요.",
                "출생증명서, 부모의 외국인등록증, 자녀 여권(발급받았다면), 수수료를 준비하세요.",
                "같은 날 자녀의 외국인등록도 함께 할 수 있습니다.",
            ),
            due="자녀 체류자격 부여 신청 기한은 {date}입니다",
            past="자녀 체류자격 부여 신청 기한이 지났습니다: {date}",
            action="자녀 체류자격 부여(기한 {date}) 완료로 표시",
            window="자녀 체류자격 부여 신청 기간",
        ),
        "zh": KindText(
            name="在韩出生子女的居留资格",
            what=(
                "在韩国出生的外国籍子女，须在出生之日起90天内取得居留资格"
                "（《出入境管理法》第23条，체류자격 부여）。出生当天算作第1天。"
            ),
            consequence="超过90天，孩子就处于没有居留资格的状态，可能被处以罚款。",
            advice=(
                "请在HiKorea上预约（방문예약），"
                "到出入境管理机关申请授予居留资格（체류자격 부여）。",
                "请备好出生证明、父母双方的外国人登录证、孩子的护照（如已办好）以及手续费。",
                "同一次办理时，也可以为孩子办理外国人登录（외국인등록）。",
            ),
            due="请在{date}前为孩子申请居留资格",
            past="孩子的居留资格申请期限{date}已过",
            action="将孩子的居留资格（期限{date}）标记为已办好",
            window="可为新生儿申请居留资格",
        ),
    },
    "arc_at_17": {
        "en": KindText(
            name="Foreigner registration at 17",
            what=(
                "A foreign child under 17 does not have to register. Within 90 days of "
                "turning 17 they must register as a foreign resident (Immigration Act "
                "art. 31, 외국인등록). The birthday counts as day 1."
            ),
            consequence=(
                "A penalty that grows with the delay; in serious cases up to 1 year in prison "
                "or a fine of up to KRW 10 million (arts. 46, 95)."
            ),
            advice=(
                "Book a visit (방문예약) on HiKorea at the immigration office for your address "
                "now: slots run out.",
                "Bring the passport, one 3.5 x 4.5 cm photo, proof of residence, the documents "
                "the status requires and the fee.",
            ),
            due="Register as a foreign resident (age 17) by {date}",
            past="Foreigner registration at 17 was due {date}",
            action="Mark foreigner registration at 17 (due {date}) as done",
            window="Registration window open (age 17)",
        ),
        "ko": KindText(
            name="만 17세 외국인등록",
            what=(
                "17세 미만 외국인은 외국인등록을 하지 않아도 되지만, 17세가 된 날부터 90일 "
                "이내에 외국인등록을 해야 합니다(출입국관리법 제31조). 생일을 첫째 날로 "
                "셉니다."
            ),
            consequence=(
                "늦어진 기간에 따라 범칙금이 커지며, 심하면 1년 이하의 징역 또는 1천만 원 "
                "이하의 벌금에 처해질 수 있습니다(제46조, 제95조)."
            ),
            advice=(
                "하이코리아에서 주소지 관할 출입국·외국인관서 방문예약을 지금 해 두세요. "
                "예약이 금방 찹니다.",
                "여권, 사진 1매(3.5×4.5cm), 체류지 입증서류, 체류자격별 제출서류와 수수료를 "
                "준비하세요.",
            ),
            due="만 17세 외국인등록 기한은 {date}입니다",
            past="만 17세 외국인등록 기한이 지났습니다: {date}",
            action="만 17세 외국인등록(기한 {date}) 완료로 표시",
            window="만 17세 외국인등록 신청 기간",
        ),
        "zh": KindText(
            name="年满17岁的外国人登录",
            what=(
                "未满17岁的外国人不必办理外国人登录，但须在年满17岁之日起90天内办理"
                "（《出入境管理法》第31条，외국인등록）。生日当天算作第1天。"
            ),
            consequence=(
                "罚款随逾期时间增加；情节严重的，可处1年以下有期徒刑或1000万韩元以下罚金"
                "（第46条、第95条）。"
            ),
            advice=(
                "请尽快在HiKorea上预约（방문예약）前往居住地管辖的出入境管理机关，名额很快就会约满。",
                "请备好护照、3.5×4.5厘米照片1张、居住证明、居留资格所需的材料以及手续费。",
            ),
            due="请在{date}前办理外国人登录（年满17岁）",
            past="年满17岁的外国人登录期限{date}已过",
            action="将年满17岁的外国人登录（期限{date}）标记为已完成",
            window="可办理外国人登录（年满17岁）",
        ),
    },
    "workplace_change": {
        "en": KindText(
            name="Change of workplace (E-9)",
            what=(
                "Your employment contract has ended. You have one month from its end to apply "
                "for a change of workplace (사업장 변경 신청) at the Employment Center "
                "(고용센터) (Act on the Employment of Foreign Workers art. 25)."
            ),
            consequence="If you do not apply in time, you must leave Korea.",
            advice=(
                "Apply at your Employment Center (고용센터) or on EPS (www.eps.go.kr) as soon "
                "as you can.",
                "Keep the papers about the end of your contract (release or termination).",
                "When you have applied, tell your office the date, or add it to staywatch "
                "(applied = the date): it then reminds you of the next deadline.",
                "For help, call 1350 (Ministry of Employment and Labor).",
            ),
            due="Apply for a change of workplace by {date}",
            past="Your change of workplace application was due {date}",
            action="Mark the change of workplace application (due {date}) as done",
            window="Time to apply for a change of workplace",
        ),
        "ko": KindText(
            name="사업장 변경(E-9)",
            what=(
                "근로계약이 끝났습니다. 계약이 끝난 날부터 1개월 이내에 고용센터에 사업장 "
                "변경 신청을 해야 합니다(외국인근로자의 고용 등에 관한 법률 제25조)."
            ),
            consequence="기한 안에 신청하지 않으면 한국을 떠나야 합니다.",
            advice=(
                "되도록 빨리 관할 고용센터나 EPS(www.eps.go.kr)에서 사업장 변경 신청을 하세요.",
                "근로계약 종료(해지) 관련 서류를 잘 보관하세요.",
                "신청했으면 담당자에게 신청일을 알리거나 staywatch에 추가하세요"
                "(applied = 신청일). 그러면 다음 기한을 알려 드립니다.",
                "도움이 필요하면 1350(고용노동부 고객상담센터)에 전화하세요.",
            ),
            due="사업장 변경 신청 기한은 {date}입니다",
            past="사업장 변경 신청 기한이 지났습니다: {date}",
            action="사업장 변경 신청(기한 {date}) 완료로 표시",
            window="사업장 변경 신청 기간",
        ),
        "zh": KindText(
            name="变更工作单位（E-9）",
            what=(
                "您的劳动合同已经结束。须在合同结束之日起1个月内，到雇佣中心（고용센터）"
                "申请变更工作单位（사업장 변경 신청）（《外国人劳动者雇佣法》第25条）。"
            ),
            consequence="如果没有按时申请，您就必须离开韩国。",
            advice=(
                "请尽快到管辖的雇佣中心（고용센터）或在EPS（www.eps.go.kr）上提出申请。",
                "请保管好劳动合同结束（解除）的相关材料。",
                "申请后，请把申请日期告诉负责人，或加入staywatch（applied = 申请日期），"
                "它会接着提醒您下一个期限。",
                "需要帮助时，请致电1350（雇佣劳动部）。",
            ),
            due="请在{date}前申请变更工作单位",
            past="变更工作单位申请期限{date}已过",
            action="将变更工作单位申请（期限{date}）标记为已完成",
            window="可申请变更工作单位",
        ),
    },
    "workplace_change:permit": {
        "en": KindText(
            name="Permission for a new workplace (E-9)",
            what=(
                "You applied for a change of workplace. You must get the permission to work "
                "at a new workplace (근무처 변경허가) within three months of applying (Act on "
                "the Employment of Foreign Workers art. 25)."
            ),
            consequence="If you do not get the permission in time, you must leave Korea.",
            advice=(
                "Stay in touch with your Employment Center (고용센터) for job offers, and "
                "check EPS (www.eps.go.kr).",
                "Once a new employer hires you, make sure the permission (근무처 변경허가) is "
                "granted before this date; the employer and the Employment Center can help.",
                "For help, call 1350 (Ministry of Employment and Labor).",
            ),
            due="Get the permission for your new workplace by {date}",
            past="The permission for your new workplace was due {date}",
            action="Mark the new workplace permission (due {date}) as done",
            window="Time to get the new workplace permission",
        ),
        "ko": KindText(
            name="근무처 변경허가(E-9)",
            what=(
                "사업장 변경 신청을 했습니다. 신청한 날부터 3개월 이내에 새 사업장에 대한 "
                "근무처 변경허가를 받아야 합니다(외국인근로자의 고용 등에 관한 법률 제25조)."
            ),
            consequence="기한 안에 허가를 받지 못하면 한국을 떠나야 합니다.",
            advice=(
                "고용센터에서 일자리 알선을 계속 받고, EPS(www.eps.go.kr)도 확인하세요.",
                "새 사업주와 근로계약을 하면 이 날짜 전에 근무처 변경허가를 꼭 받으세요. "
                "사업주와 고용센터가 도와줄 수 있습니다.",
                "도움이 필요하면 1350(고용노동부 고객상담센터)에 전화하세요.",
            ),
            due="근무처 변경허가 기한은 {date}입니다",
            past="근무처 변경허가 기한이 지났습니다: {date}",
            action="근무처 변경허가(기한 {date}) 완료로 표시",
            window="근무처 변경허가 기간",
        ),
        "zh": KindText(
            name="新工作单位的变更许可（E-9）",
            what=(
                "您已申请变更工作单位。须在申请之日起3个月内取得新工作单位的变更许可"
                "（근무처 변경허가）（《外国人劳动者雇佣法》第25条）。"
            ),
            consequence="如果没有按时取得许可，您就必须离开韩国。",
            advice=(
                "请与雇佣中心（고용센터）保持联系，接受工作介绍，并随时查看EPS（www.eps.go.kr）。",
                "与新雇主签约后，请务必在这一天之前取得变更许可（근무처 변경허가）；"
                "雇主和雇佣中心可以协助您。",
                "需要帮助时，请致电1350（雇佣劳动部）。",
            ),
            due="请在{date}前取得新工作单位的变更许可",
            past="新工作单位的变更许可期限{date}已过",
            action="将新工作单位的变更许可（期限{date}）标记为已完成",
            window="可办理工作单位变更许可",
        ),
    },
    "nhis_enrolment": {
        "en": KindText(
            name="National Health Insurance enrolment",
            what=(
                "Foreign residents who stay six months or more join the National Health "
                "Insurance (건강보험) automatically (since 16 July 2019). Students on D-2 and "
                "D-4-3 join on the day of their foreigner registration. You do not need to "
                "file anything for this date."
            ),
            consequence=(
                "Nothing is lost on this day, but from now on a monthly premium is due: "
                "unpaid premiums bring an arrears charge and can shorten or block your next "
                "visa extension."
            ),
            advice=(
                "The first premium bill follows. Foreign residents pay in advance, by the "
                "25th of the month before.",
                "Set up auto-debit (자동이체) in The건강보험 app or at a bank: it is KRW 200 "
                "a month cheaper.",
                "Students may get a reduced premium. If you have equivalent insurance (for "
                "example an employer's plan from abroad), you may apply for exclusion at an "
                "NHIS branch.",
                "Ask your office to add the monthly premium to staywatch (nhis_premium) from "
                "the first month.",
            ),
            due="You join the National Health Insurance on {date}",
            past="You joined the National Health Insurance on {date}",
            action="Mark the NHIS enrolment ({date}) as noted",
        ),
        "ko": KindText(
            name="건강보험 가입",
            what=(
                "6개월 이상 체류하는 외국인은 건강보험에 자동으로 가입됩니다(2019년 7월 "
                "16일부터). 유학생(D-2)과 초중고 유학생(D-4-3)은 외국인등록일에 가입됩니다. "
                "이 날짜에 따로 신청할 것은 없습니다."
            ),
            consequence=(
                "이날 놓치는 것은 없지만, 이제부터 매달 보험료를 내야 합니다. 보험료를 "
                "내지 않으면 연체금이 붙고, 다음 체류기간 연장이 제한되거나 거부될 수 "
                "있습니다."
            ),
            advice=(
                "곧 첫 보험료 고지서가 옵니다. 외국인은 보험료를 전달 25일까지 미리 냅니다.",
                "The건강보험 앱이나 은행에서 자동이체를 신청하세요. 매달 200원이 할인됩니다.",
                "유학생은 보험료 경감을 받을 수 있습니다. 같은 수준의 보험(예: 해외 "
                "회사의 보험)이 있으면 공단 지사에 가입 제외를 신청할 수 있습니다.",
                "첫 달부터 월 보험료(nhis_premium)도 staywatch에 추가해 달라고 담당자에게 "
                "요청하세요.",
            ),
            due="{date}에 건강보험에 가입됩니다",
            past="{date}에 건강보험에 가입되었습니다",
            action="건강보험 가입({date}) 확인으로 표시",
        ),
        "zh": KindText(
            name="加入国民健康保险",
            what=(
                "在韩居留6个月以上的外国人会自动加入国民健康保险（건강보험）"
                "（自2019年7月16日起）。留学生（D-2）和中小学留学生（D-4-3）"
                "在办理外国人登录当天加入。这一天您不需要办理任何手续。"
            ),
            consequence=(
                "这一天不会错过什么，但从此每月都要缴纳保险费："
                "欠缴会产生滞纳金，还可能导致下次延长居留期限受限或被拒。"
            ),
            advice=(
                "之后会收到第一张保险费缴费通知。外国人须在上个月25日前预缴保险费。",
                "请在The건강보험应用或银行开通自动扣款（자동이체），每月可减免200韩元。",
                "留学生可能享受保险费减免。如果您有同等保障的保险（例如海外雇主的保险），"
                "可以到公团分支机构申请不加入。",
                "请联系负责人，从第一个月起把每月保险费（nhis_premium）也加入staywatch。",
            ),
            due="您将于{date}加入国民健康保险",
            past="您已于{date}加入国民健康保险",
            action="将加入国民健康保险（{date}）标记为已知悉",
        ),
    },
    "custom": {
        "en": KindText(
            name="Personal deadline",
            what=None,
            consequence=None,
            advice=(),
            due="{title} due {date}",
            past="{title} was due {date}",
            action="Mark “{title}” ({date}) as done",
        ),
        "ko": KindText(
            name="개인 기한",
            what=None,
            consequence=None,
            advice=(),
            due="{title} 기한: {date}",
            past="{title} 기한이 지났습니다: {date}",
            action="‘{title}’({date}) 완료로 표시",
        ),
        "zh": KindText(
            name="个人事项",
            what=None,
            consequence=None,
            advice=(),
            due="{title}：截止日期{date}",
            past="{title}：截止日期{date}已过",
            action="将“{title}”（{date}）标记为已完成",
        ),
    },
}

#: Strings shared by the email, the feed and the confirmation page. Values use
#: ``str.format`` placeholders; see :func:`ui`.
UI: dict[str, dict[Language, str]] = {
    # -- email ------------------------------------------------------------------
    "greeting": {"en": "Hello {name},", "ko": "{name} 님, 안녕하세요.", "zh": "{name}，您好："},
    "covers": {
        "en": "This payment covers {month}.",
        "ko": "{month}분 보험료입니다.",
        "zh": "本次缴纳的是{month}的保险费。",
    },
    "note": {"en": "Note: {note}", "ko": "메모: {note}", "zh": "备注：{note}"},
    "moved": {
        "en": "{nominal} is a day off, so the deadline moves to {date}.",
        "ko": "휴일이라 기한이 바뀌었습니다: {nominal} → {date}",
        "zh": "{nominal}为休息日，期限调整为{date}。",
    },
    "closed": {
        "en": (
            "Immigration offices and HiKorea online applications are closed on {day}. "
            "The last business day before it is {last_open}: act by then."
        ),
        "ko": (
            "기한 당일인 {day}에는 출입국·외국인관서와 하이코리아 전자민원이 쉽니다. "
            "마지막 영업일인 {last_open}까지 처리하세요."
        ),
        "zh": (
            "截止当天{day}为休息日，出入境管理机关和HiKorea网上申请均不办理业务。"
            "请在此前最后一个工作日{last_open}之前办好。"
        ),
    },
    "closed_subject": {
        "en": "offices are closed that day, act by {last_open}",
        "ko": "당일 휴무, {last_open}까지 처리",
        "zh": "当天不办公，请于{last_open}前办理",
    },
    "overdue": {
        "en": (
            "The date has passed and nobody has confirmed yet that this was done. If it is "
            "done, use the link below and the reminders stop; if not, please act today."
        ),
        "ko": (
            "기한이 지났는데 아직 처리했다는 확인이 없습니다. 이미 처리했다면 아래 링크로 "
            "알려 주세요. 그러면 알림이 멈춥니다. 아직이라면 오늘 바로 처리하세요."
        ),
        "zh": (
            "期限已过，但还没有收到已办理的确认。如已办好，请通过下方链接告诉我们，"
            "提醒就会停止；如尚未办理，请今天就去办。"
        ),
    },
    "what_is": {"en": "What this is", "ko": "안내", "zh": "说明"},
    "if_missed": {"en": "If it is missed", "ko": "기한을 놓치면", "zh": "逾期后果"},
    "what_to_do": {"en": "What to do", "ko": "해야 할 일", "zh": "需要做什么"},
    "window": {
        "en": "{label}: {start} to {end}.",
        "ko": "{label}: {start} ~ {end}",
        "zh": "{label}：{start}至{end}。",
    },
    "ack_intro": {
        "en": "Already done? Let staywatch know and the reminders for this date stop:",
        "ko": "이미 처리하셨나요? 아래 링크로 알려 주시면 이 기한에 대한 알림을 더 보내지 "
        "않습니다.",
        "zh": "已经办好了吗？请通过下面的链接告诉我们，之后就不会再收到这项提醒。",
    },
    "ack_button": {"en": "I have done this", "ko": "처리를 마쳤습니다", "zh": "我已办好"},
    "ack_explain": {
        "en": (
            "The link opens a confirmation page; nothing is recorded until you press the "
            "button there."
        ),
        "ko": "링크를 누르면 확인 페이지가 열리며, 그 페이지의 버튼을 눌러야 기록됩니다.",
        "zh": "链接会打开一个确认页面，只有在该页面上点击按钮后才会记录。",
    },
    "calendar_intro": {
        "en": "See all your deadlines in your calendar app by subscribing to this address:",
        "ko": "모든 기한을 캘린더 앱에서 보려면 다음 주소를 구독하세요:",
        "zh": "在日历应用中订阅以下地址，即可查看您的全部期限：",
    },
    "calendar_link": {
        "en": "Subscribe in your calendar",
        "ko": "캘린더에서 구독하기",
        "zh": "在日历中订阅",
    },
    "footer": {
        "en": "Sent by staywatch ({key}). This is a reminder, not legal advice.",
        "ko": "staywatch가 보낸 알림입니다({key}). 법률 자문이 아닙니다.",
        "zh": "本邮件由staywatch发送（{key}），仅作提醒，不构成法律意见。",
    },
    "test_subject": {
        "en": "staywatch test message",
        "ko": "staywatch 테스트 메일",
        "zh": "staywatch测试邮件",
    },
    "test_body": {
        "en": "This is a test message from staywatch, sent {when}. If you can read it, "
        "email delivery works.",
        "ko": "staywatch에서 {when}에 보낸 테스트 메일입니다. 이 글이 보이면 메일 발송이 "
        "정상입니다.",
        "zh": "这是staywatch于{when}发送的测试邮件。如果您能看到这段文字，说明邮件发送正常。",
    },
    # -- confirmation page ----------------------------------------------------------
    "confirm_title": {"en": "Confirm", "ko": "확인", "zh": "确认"},
    "confirm_question": {
        "en": "Is this done? staywatch will stop sending reminders for it.",
        "ko": "처리를 마치셨나요? 확인하시면 이 기한에 대한 알림을 더 보내지 않습니다.",
        "zh": "这件事办好了吗？确认后，staywatch将不再发送这项提醒。",
    },
    "confirm_button": {"en": "Yes, it is done", "ko": "네, 처리했습니다", "zh": "是的，已办好"},
    "confirmed": {
        "en": "Thank you. It is recorded: no more reminders will be sent for this.",
        "ko": "감사합니다. 기록되었습니다. 이 기한에 대한 알림은 더 이상 보내지 않습니다.",
        "zh": "谢谢，已记录。这项提醒不会再发送。",
    },
    "link_expired": {
        "en": "This link has expired. Use the link in the latest reminder.",
        "ko": "링크의 유효기간이 지났습니다. 가장 최근 알림 메일의 링크를 이용하세요.",
        "zh": "此链接已过期，请使用最新一封提醒邮件中的链接。",
    },
    "link_invalid": {
        "en": "This link is not valid. It may have been cut short when it was copied.",
        "ko": "올바른 링크가 아닙니다. 복사하는 과정에서 잘렸을 수 있습니다.",
        "zh": "此链接无效，可能在复制时被截断了。",
    },
    # -- calendar feed --------------------------------------------------------------
    "calendar_name": {
        "en": "staywatch: {name}",
        "ko": "staywatch: {name}",
        "zh": "staywatch：{name}",
    },
    "deadline_on": {"en": "Deadline: {date}", "ko": "기한: {date}", "zh": "截止日期：{date}"},
    "done": {"en": "Marked as done.", "ko": "완료로 표시됨.", "zh": "已标记为完成。"},
    "calendar_everyone": {
        "en": "staywatch: everyone",
        "ko": "staywatch: 전체",
        "zh": "staywatch：全体人员",
    },
    "window_open": {
        "en": "Window open: {label}",
        "ko": "{label} 신청 기간",
        "zh": "可办理：{label}",
    },
    "person_event": {"en": "{name}: {text}", "ko": "{name}: {text}", "zh": "{name}：{text}"},
    # -- office emails: escalations and digests ---------------------------------------
    "office_greeting": {
        "en": "Hello {office},",
        "ko": "{office} 담당자님, 안녕하세요.",
        "zh": "{office}，您好：",
    },
    "escalation_subject": {
        "en": "Not yet done: {name} — {what} ({countdown})",
        "ko": "처리 확인 없음: {name} 님, {what} ({countdown})",
        "zh": "尚未办理：{name}，{what}（{countdown}）",
    },
    "escalation_subject_overdue": {
        "en": "Overdue: {name} — {what} ({countdown})",
        "ko": "기한 경과: {name} 님, {what} ({countdown})",
        "zh": "已逾期：{name}，{what}（{countdown}）",
    },
    "escalation_intro": {
        "en": (
            "{name} has not confirmed yet that the deadline below is handled. Please check "
            "with them."
        ),
        "ko": "{name} 님이 아래 기한을 처리했다는 확인이 아직 없습니다. 본인에게 확인해 주세요.",
        "zh": "{name}尚未确认已办理下列事项，请与本人核实。",
    },
    "escalation_intro_overdue": {
        "en": (
            "The deadline below has passed and {name} has not confirmed that it was handled. "
            "Please check with them today."
        ),
        "ko": (
            "아래 기한이 지났는데 {name} 님이 처리했다는 확인이 아직 없습니다. 오늘 본인에게 "
            "확인해 주세요."
        ),
        "zh": "下列事项的期限已过，{name}仍未确认已办理，请今天就与本人核实。",
    },
    "who": {"en": "Who", "ko": "대상자", "zh": "当事人"},
    "email_label": {"en": "Email", "ko": "이메일", "zh": "邮箱"},
    "history": {
        "en": "Reminders sent so far",
        "ko": "지금까지 보낸 알림",
        "zh": "已发送的提醒",
    },
    "history_none": {
        "en": "No reminder was delivered yet.",
        "ko": "아직 전달된 알림이 없습니다.",
        "zh": "尚未成功发送任何提醒。",
    },
    "result_sent": {"en": "sent", "ko": "발송됨", "zh": "已发送"},
    "result_retry": {
        "en": "not delivered, will retry",
        "ko": "전달 실패, 다시 시도 예정",
        "zh": "发送失败，将重试",
    },
    "result_failed": {
        "en": "not delivered, given up",
        "ko": "전달 실패, 재시도 안 함",
        "zh": "发送失败，不再重试",
    },
    "server_reply": {
        "en": "server said: {reply}",
        "ko": "서버 응답: {reply}",
        "zh": "服务器回复：{reply}",
    },
    "their_steps": {
        "en": "What {name} has to do",
        "ko": "{name} 님이 해야 할 일",
        "zh": "{name}需要做什么",
    },
    "office_ack_intro": {
        "en": "If it is already done, you can record that here and the reminders stop:",
        "ko": "이미 처리되었다면 여기에서 기록할 수 있습니다. 그러면 알림이 멈춥니다.",
        "zh": "如已办好，可在此处登记，提醒随即停止：",
    },
    "office_ack_button": {"en": "Record as done", "ko": "완료로 기록", "zh": "登记为已办理"},
    "dashboard_intro": {
        "en": "Everyone you look after, on the dashboard:",
        "ko": "담당하는 모든 사람의 현황은 대시보드에서 볼 수 있습니다.",
        "zh": "您负责的全部人员的情况请查看仪表板：",
    },
    "dashboard_link": {"en": "Open the dashboard", "ko": "대시보드 열기", "zh": "打开仪表板"},
    "escalation_footer": {
        "en": (
            "Sent once by staywatch ({key}) because {office} looks after {name}. This is a "
            "reminder, not legal advice."
        ),
        "ko": (
            "staywatch가 보낸 알림입니다({key}). {office}에서 {name} 님을 담당하고 있어 한 번만 "
            "보냅니다. 법률 자문이 아닙니다."
        ),
        "zh": "因{office}负责{name}，staywatch发送此邮件一次（{key}），仅作提醒，不构成法律意见。",
    },
    "digest_subject": {
        "en": "staywatch digest for {office}: {counts}",
        "ko": "staywatch 요약 ({office}): {counts}",
        "zh": "staywatch摘要（{office}）：{counts}",
    },
    "digest_title": {
        "en": "Digest for {office}, {date}",
        "ko": "{office} 요약, {date}",
        "zh": "{office}摘要，{date}",
    },
    "digest_since": {
        "en": "What happened since the last digest ({since}) and what is coming.",
        "ko": "지난 요약({since}) 이후의 변화와 다가오는 기한입니다.",
        "zh": "自上次摘要（{since}）以来的情况和即将到期的事项。",
    },
    "digest_nothing": {
        "en": "Nothing to report.",
        "ko": "보고할 내용이 없습니다.",
        "zh": "暂无需要报告的内容。",
    },
    "section_overdue": {"en": "Overdue", "ko": "기한 경과", "zh": "已逾期"},
    "section_upcoming": {
        "en": "Due in the next {days} days",
        "ko": "{days}일 이내 기한",
        "zh": "{days}天内到期",
    },
    "section_acknowledged": {
        "en": "Marked as done since the last digest",
        "ko": "지난 요약 이후 완료 처리됨",
        "zh": "自上次摘要以来已标记完成",
    },
    "section_acknowledged_all": {
        "en": "Marked as done",
        "ko": "완료 처리됨",
        "zh": "已标记完成",
    },
    "section_failures": {
        "en": "Reminders that could not be delivered",
        "ko": "전달되지 않은 알림",
        "zh": "未能送达的提醒",
    },
    "failures_explain": {
        "en": (
            "The mail servers refused these. Please get a working address from each person "
            "and correct it in the config: staywatch does not retry a refused address."
        ),
        "ko": (
            "메일 서버가 아래 알림을 거부했습니다. 본인에게 사용 가능한 주소를 받아 설정에서 "
            "고쳐 주세요. 거부된 주소로는 다시 보내지 않습니다."
        ),
        "zh": (
            "以下提醒被邮件服务器拒收。请向本人确认可用的邮箱地址并在配置中更正："
            "staywatch不会向被拒的地址重发。"
        ),
    },
    "section_changes": {
        "en": "Changes to the configuration since the last digest",
        "ko": "지난 요약 이후 설정 변경",
        "zh": "自上次摘要以来的配置变更",
    },
    "section_changes_all": {
        "en": "Changes to the configuration",
        "ko": "설정 변경",
        "zh": "配置变更",
    },
    "col_name": {"en": "Name", "ko": "이름", "zh": "姓名"},
    "col_what": {"en": "Deadline", "ko": "기한", "zh": "事项"},
    "col_date": {"en": "Date", "ko": "날짜", "zh": "日期"},
    "col_due": {"en": "Due", "ko": "남은 기간", "zh": "剩余时间"},
    "col_status": {"en": "Status", "ko": "상태", "zh": "状态"},
    "col_when": {"en": "When", "ko": "일시", "zh": "时间"},
    "col_by": {"en": "By", "ko": "처리자", "zh": "操作人"},
    "col_reminder": {"en": "Reminder", "ko": "알림", "zh": "提醒"},
    "col_addresses": {"en": "Addresses", "ko": "주소", "zh": "地址"},
    "col_reply": {"en": "Reply", "ko": "응답", "zh": "回复"},
    "col_change": {"en": "Change", "ko": "변경 내용", "zh": "变更内容"},
    "status_overdue": {"en": "overdue", "ko": "기한 경과", "zh": "已逾期"},
    "status_failed": {"en": "delivery failed", "ko": "전달 실패", "zh": "发送失败"},
    "status_pending": {"en": "not reminded yet", "ko": "알림 전", "zh": "尚未提醒"},
    "status_sent": {"en": "reminded", "ko": "알림 보냄", "zh": "已提醒"},
    "status_acknowledged": {"en": "done", "ko": "완료", "zh": "已完成"},
    "digest_footer": {
        "en": "Sent by staywatch ({key}) to {office}.",
        "ko": "staywatch가 {office}에 보낸 요약입니다({key}).",
        "zh": "本邮件由staywatch发送给{office}（{key}）。",
    },
}

_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_WEEKDAYS: dict[Language, tuple[str, ...]] = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "ko": ("월", "화", "수", "목", "금", "토", "일"),
    "zh": ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"),
}

#: Korean public holiday names as the ``holidays`` package spells them in en_US.
_HOLIDAYS: dict[str, dict[Language, str]] = {
    "New Year's Day": {"ko": "신정", "zh": "元旦"},
    "Korean New Year": {"ko": "설날", "zh": "春节"},
    "The day preceding Korean New Year": {"ko": "설날 전날", "zh": "春节前一天"},
    "The second day of Korean New Year": {"ko": "설날 다음 날", "zh": "春节第二天"},
    "Independence Movement Day": {"ko": "삼일절", "zh": "三一节"},
    "Labor Day": {"ko": "노동절", "zh": "劳动节"},
    "Children's Day": {"ko": "어린이날", "zh": "儿童节"},
    "Buddha's Birthday": {"ko": "부처님 오신 날", "zh": "佛诞日"},
    "Memorial Day": {"ko": "현충일", "zh": "显忠日"},
    "Constitution Day": {"ko": "제헌절", "zh": "制宪节"},
    "Liberation Day": {"ko": "광복절", "zh": "光复节"},
    "Chuseok": {"ko": "추석", "zh": "中秋节"},
    "The day preceding Chuseok": {"ko": "추석 전날", "zh": "中秋节前一天"},
    "The second day of Chuseok": {"ko": "추석 다음 날", "zh": "中秋节第二天"},
    "Armed Forces Day": {"ko": "국군의 날", "zh": "国军日"},
    "National Foundation Day": {"ko": "개천절", "zh": "开天节"},
    "Hangul Day": {"ko": "한글날", "zh": "韩文日"},
    "Christmas Day": {"ko": "성탄절", "zh": "圣诞节"},
    "Local Election Day": {"ko": "지방선거일", "zh": "地方选举日"},
    "National Assembly Election Day": {"ko": "국회의원 선거일", "zh": "国会议员选举日"},
    "Presidential Election Day": {"ko": "대통령 선거일", "zh": "总统选举日"},
    "Temporary Public Holiday": {"ko": "임시공휴일", "zh": "临时公休日"},
    "extra holiday": {"en": "holiday", "ko": "휴일", "zh": "休息日"},
    "Saturday": {"ko": "토요일", "zh": "星期六"},
    "Sunday": {"ko": "일요일", "zh": "星期日"},
}
_ALTERNATIVE = "Alternative holiday for "
_GENERIC_HOLIDAY: dict[Language, str] = {"en": "public holiday", "ko": "공휴일", "zh": "公休日"}


#: The languages these tables are written in; the others read English for now.
LANGUAGES: tuple[Language, ...] = ("en", "ko", "zh")


def language(value: str | None) -> Language:
    """``value`` if these tables are written in it, else English."""
    for known in LANGUAGES:
        if value == known:
            return known
    return "en"


def _kind(kind: str, lang: str) -> KindText:
    texts = KIND_TEXTS.get(kind, KIND_TEXTS["custom"])
    return texts[language(lang)]


def kind_name(kind: str, lang: str, title: str | None = None) -> str:
    """The kind's name ("Period of stay (visa) expiry"); a custom deadline's title."""
    if kind == "custom" and title:
        return title
    return _kind(kind, lang).name


def what_it_is(kind: str, lang: str) -> str | None:
    """What the deadline is, in a sentence or two; None for custom deadlines."""
    return _kind(kind, lang).what


def consequence(kind: str, lang: str) -> str | None:
    """What missing the deadline costs; None for custom deadlines."""
    return _kind(kind, lang).consequence


def advice(kind: str, lang: str, *, autopay: bool = False) -> list[str]:
    """The steps to take, ending with where to check; empty for custom deadlines.

    With ``autopay`` (NHIS) the person only has to keep the account funded.
    """
    text = _kind(kind, lang)
    if not text.advice:
        return []
    lang_ = language(lang)
    steps = list(text.advice)
    if kind == "nhis_premium" and autopay:
        steps = [_AUTOPAY[lang_], steps[2]]
    return [*steps, _CHECK[lang_]]


def window_label(kind: str, lang: str) -> str | None:
    """The action-window label ("Extension window open"), or None if the kind has none."""
    return _kind(kind, lang).window


#: What a calendar event is called: the deadline without its date. Custom
#: deadlines use their title (or the kind name when it is hidden).
_EVENT_LABELS: dict[str, dict[Language, str]] = {
    "stay_expiry": {
        "en": "Visa (period of stay) expires",
        "ko": "체류기간 만료",
        "zh": "居留期限到期",
    },
    "arc_registration": {
        "en": "Foreigner registration (residence card) due",
        "ko": "외국인등록 기한",
        "zh": "外国人登录截止",
    },
    "arc_expiry": {
        "en": "Permanent residence card (F-5) expires",
        "ko": "영주증(F-5) 만료",
        "zh": "永久居留证（F-5）到期",
    },
    "address_report": {
        "en": "Change of address report due",
        "ko": "체류지 변경 신고 기한",
        "zh": "居留地变更申报截止",
    },
    "nhis_premium": {
        "en": "NHIS premium due",
        "ko": "건강보험료 납부 기한",
        "zh": "健康保险费缴费日",
    },
    "passport_expiry": {"en": "Passport expires", "ko": "여권 만료", "zh": "护照到期"},
    # -- the newer kinds (DOMAIN.md) ------------------------------------------------------
    "reentry": {"en": "Back in Korea (re-entry)", "ko": "재입국 기한", "zh": "再入境期限"},
    "registration_change": {
        "en": "Change of registration report due",
        "ko": "외국인등록사항 변경신고 기한",
        "zh": "外国人登录事项变更申报截止",
    },
    "registration_change:passport": {
        "en": "New passport report due",
        "ko": "새 여권 신고 기한",
        "zh": "新护照申报截止",
    },
    "newborn_status": {
        "en": "Child's status of stay due",
        "ko": "자녀 체류자격 부여 신청 기한",
        "zh": "孩子居留资格申请截止",
    },
    "arc_at_17": {
        "en": "Foreigner registration at 17 due",
        "ko": "만 17세 외국인등록 기한",
        "zh": "年满17岁外国人登录截止",
    },
    "workplace_change": {
        "en": "Change of workplace application due (E-9)",
        "ko": "사업장 변경 신청 기한",
        "zh": "变更工作单位申请截止",
    },
    "workplace_change:permit": {
        "en": "New workplace permission due (E-9)",
        "ko": "근무처 변경허가 기한",
        "zh": "工作单位变更许可截止",
    },
    "nhis_enrolment": {
        "en": "National Health Insurance enrolment",
        "ko": "건강보험 가입",
        "zh": "加入国民健康保险",
    },
}
_PREMIUM_FOR: dict[Language, str] = {
    "en": "NHIS premium for {month} due",
    "ko": "{month}분 건강보험료 납부 기한",
    "zh": "{month}健康保险费缴费日",
}


def event_label(
    kind: str, lang: str, *, covers: str | None = None, title: str | None = None
) -> str:
    """A calendar event's name: the deadline without its date ("Passport expires").

    An NHIS premium names the month it ``covers``; a custom deadline is its
    ``title``, or "Personal deadline" when there is none (hidden details).
    """
    lang_ = language(lang)
    labels = _EVENT_LABELS.get(kind)
    if labels is None:
        return kind_name(kind, lang_, title)
    if kind == "nhis_premium" and covers:
        return _PREMIUM_FOR[lang_].format(month=month_label(covers, lang_))
    return labels[lang_]


def stage_label(label: str, days: int, lang: str) -> str:
    """A calendar reminder ``days`` ahead: "Passport expires in 30 days", "여권 만료 D-30".

    ``label`` alone on the day itself or after it.
    """
    if days <= 0:
        return label
    lang_ = language(lang)
    if lang_ == "ko":
        return f"{label} D-{days}"
    if lang_ == "zh":
        return f"{label}（{countdown(days, lang_)}）"
    return f"{label} {days_left_phrase(days, lang_)}"


def month_label(covers: str, lang: str) -> str:
    """A ``YYYY-MM`` month for people: "January 2027", "2027년 1월", "2027年1月"."""
    year, month = (int(part) for part in covers.split("-"))
    lang_ = language(lang)
    if lang_ == "ko":
        return f"{year}년 {month}월"
    if lang_ == "zh":
        return f"{year}年{month}月"
    return f"{_MONTHS_EN[month - 1]} {year}"


def _short_month(covers: str, lang: str) -> str:
    # English labels keep the compact ISO month ("NHIS premium for 2027-01").
    return covers if language(lang) == "en" else month_label(covers, lang)


def long_date(day: date, lang: str) -> str:
    """A date with its weekday: "Sunday, 14 March 2027", "2027년 3월 14일(일)", ..."""
    lang_ = language(lang)
    weekday = _WEEKDAYS[lang_][day.weekday()]
    if lang_ == "ko":
        return f"{day.year}년 {day.month}월 {day.day}일({weekday})"
    if lang_ == "zh":
        return f"{day.year}年{day.month}月{day.day}日（{weekday}）"
    return f"{weekday}, {day.day} {_MONTHS_EN[day.month - 1]} {day.year}"


def long_instant(when: datetime, lang: str) -> str:
    """A local date and time with weekday and zone: "Tuesday, 5 January 2027, 10:00 KST"."""
    clock = f"{when:%H:%M} {when.tzname() or ''}".rstrip()
    separator = ", " if language(lang) == "en" else " "
    return f"{long_date(when.date(), lang)}{separator}{clock}"


def reason_label(reason: str, lang: str) -> str:
    """Why a day is closed (a holiday or weekday name from the holidays package), translated."""
    lang_ = language(lang)
    parts = [part.strip() for part in reason.split(";") if part.strip()]
    out: list[str] = []
    for part in parts:
        if part.startswith(_ALTERNATIVE):
            base = _one_reason(part[len(_ALTERNATIVE) :], lang_)
            out.append({"en": part, "ko": f"{base} 대체공휴일", "zh": f"{base}补休日"}[lang_])
        else:
            out.append(_one_reason(part, lang_))
    separator = {"en": "; ", "ko": ", ", "zh": "、"}[lang_]
    return separator.join(out) or _GENERIC_HOLIDAY[lang_]


def _one_reason(name: str, lang: Language) -> str:
    known = _HOLIDAYS.get(name)
    if known is None:
        return name if lang == "en" else _GENERIC_HOLIDAY[lang]
    return known.get(lang, name)


def days_left_phrase(days: int, lang: str) -> str:
    """Relative day: "in 30 days", "tomorrow", "today", "1 day overdue" (and ko, zh)."""
    lang_ = language(lang)
    if days > 1:
        return {"en": f"in {days} days", "ko": f"{days}일 후", "zh": f"{days}天后"}[lang_]
    if days == 1:
        return {"en": "tomorrow", "ko": "내일", "zh": "明天"}[lang_]
    if days == 0:
        return {"en": "today", "ko": "오늘", "zh": "今天"}[lang_]
    late = -days
    unit = "day" if late == 1 else "days"
    return {"en": f"{late} {unit} overdue", "ko": f"{late}일 지남", "zh": f"已逾期{late}天"}[lang_]


def countdown(days: int, lang: str) -> str:
    """The short count for subjects: "30 days left", "tomorrow", "1 day overdue"."""
    lang_ = language(lang)
    if days > 1:
        return {"en": f"{days} days left", "ko": f"{days}일 남음", "zh": f"还剩{days}天"}[lang_]
    if days == 1:
        return {"en": "tomorrow", "ko": "내일 마감", "zh": "明天截止"}[lang_]
    if days == 0:
        return {"en": "today", "ko": "오늘 마감", "zh": "今天截止"}[lang_]
    return days_left_phrase(days, lang_)


def countdown_sentence(days: int, lang: str) -> str:
    """A sentence for the body: "That is 30 days from today." and so on."""
    lang_ = language(lang)
    if days > 1:
        return {
            "en": f"That is {days} days from today.",
            "ko": f"오늘부터 {days}일 남았습니다.",
            "zh": f"距今还有{days}天。",
        }[lang_]
    if days == 1:
        return {"en": "That is tomorrow.", "ko": "바로 내일입니다.", "zh": "就在明天。"}[lang_]
    if days == 0:
        return {"en": "That is today.", "ko": "바로 오늘입니다.", "zh": "就在今天。"}[lang_]
    late = -days
    unit = "day" if late == 1 else "days"
    return {
        "en": f"That was {late} {unit} ago.",
        "ko": f"기한이 {late}일 지났습니다.",
        "zh": f"已经过了{late}天。",
    }[lang_]


def headline(
    kind: str,
    lang: str,
    *,
    when: str,
    past: bool = False,
    covers: str | None = None,
    title: str | None = None,
) -> str:
    """What is due and when: "Visa (period of stay) expires 2027-03-14".

    ``when`` is the date already formatted; ``past`` switches to the form for a
    date that has gone by ("expired").
    """
    text = _kind(kind, lang)
    template = text.past if past else text.due
    shown_covers = _short_month(covers, lang) if covers else ""
    return template.format(date=when, covers=shown_covers, title=title or text.name)


def action_label(
    kind: str,
    language: str,
    occurrence_date: date,
    covers: str | None = None,
    *,
    title: str | None = None,
) -> str:
    """The acknowledge action: "Mark NHIS premium for 2027-01 as paid"."""
    text = _kind(kind, language)
    shown_covers = _short_month(covers, language) if covers else occurrence_date.isoformat()[:7]
    return text.action.format(
        date=occurrence_date.isoformat(), covers=shown_covers, title=title or text.name
    )


def day_off(day: date, reason: str, lang: str) -> str:
    """A closed day and why, unless its weekday says it all.

    "Friday, 25 December 2026 (Christmas Day)" but "Sunday, 14 March 2027".
    """
    lang_ = language(lang)
    if reason in _WEEKDAYS["en"] and _WEEKDAYS["en"][day.weekday()] == reason:
        return long_date(day, lang_)
    why = reason_label(reason, lang_)
    if lang_ == "ko":
        weekday = _WEEKDAYS["ko"][day.weekday()]
        return f"{day.year}년 {day.month}월 {day.day}일({weekday}, {why})"
    if lang_ == "zh":
        weekday = _WEEKDAYS["zh"][day.weekday()]
        return f"{day.year}年{day.month}月{day.day}日（{weekday}，{why}）"
    return f"{long_date(day, lang_)} ({why})"


def closed_notice(day: date, reason: str, last_open: date, lang: str) -> str:
    """Offices are closed on the deadline day: act by the last business day before it."""
    return ui("closed", lang, day=day_off(day, reason, lang), last_open=long_date(last_open, lang))


def moved_notice(nominal: date, day: date, reason: str, lang: str) -> str:
    """The deadline was rolled off a weekend or holiday (``nominal``) to ``day``."""
    return ui("moved", lang, nominal=day_off(nominal, reason, lang), date=long_date(day, lang))


def ui(name: str, lang: str, /, **values: object) -> str:
    """A shared UI string in ``lang``, with ``values`` filled in; KeyError for unknown names."""
    template = UI[name][language(lang)]
    return template.format(**values) if values else template


def digest_counts(overdue: int, upcoming: int, days: int, failed: int, lang: str) -> str:
    """The counts of a digest subject: "2 overdue, 5 due in the next 60 days".

    Undeliverable reminders are counted only when there are some.
    """
    lang_ = language(lang)
    if lang_ == "ko":
        text = f"기한 경과 {overdue}건, {days}일 이내 기한 {upcoming}건"
        return text + (f", 전달 실패 {failed}건" if failed else "")
    if lang_ == "zh":
        text = f"已逾期{overdue}项，{days}天内到期{upcoming}项"
        return text + (f"，发送失败{failed}项" if failed else "")
    text = f"{overdue} overdue, {upcoming} due in the next {days} days"
    if failed:
        text += f", {failed} failed {'delivery' if failed == 1 else 'deliveries'}"
    return text
