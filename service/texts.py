"""The words people read, as English message ids, and how they are put together.

Every sentence here is a gettext message id (marked with ``N_``/``NP_`` and
translated through :mod:`service.i18n` when it is used), so the words
themselves live in the catalogs ``service/locale/LANG/LC_MESSAGES/staywatch.po``.
This module holds only which message says what, and the formatting around it:
dates, weekdays, months and numbers through Babel, lists of days off, plurals.

Each public function takes the reader's language (``lang``) and renders in it;
a language without a catalog reads English, and so does an unknown one. The
kind texts come from DOMAIN.md; a kind's messages carry the kind as their
context (msgctxt), so translators see which deadline a sentence belongs to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Protocol

from service.i18n import (
    N_,
    NP_,
    DayStyle,
    _,
    available_languages,
    current_language,
    format_day,
    format_list,
    format_percent,
    ngettext,
    pgettext,
    rendering_language,
    use_locale,
)
from service.kinds import Language
from service.rules import KIND_RULES, OFFICE_VISIT_KINDS

#: The languages with a catalog (English, the language of the message ids, included).
LANGUAGES: tuple[Language, ...] = available_languages()

#: A message id with its context: ``NP_("stay_expiry", "Visa expires %(date)s")``.
Msg = tuple[str, str]


def language(value: str | None) -> Language:
    """The language messages for a ``value`` reader are written in.

    ``value`` when it has a catalog, else English (unknown languages too).
    """
    return rendering_language(value)


def _t(message: Msg | None, /, **values: Any) -> str | None:
    return None if message is None else pgettext(*message, **values)


@dataclass(frozen=True, slots=True)
class Step:
    """One thing to do: as told to the person, and as told to an office about them.

    ``office`` is None where the same words fit both readers.
    """

    person: Msg
    office: Msg | None = None


@dataclass(frozen=True, slots=True)
class KindText:
    """Which messages one deadline kind says.

    Placeholders: ``%(date)s`` (the date, short in subjects, long in sentences),
    ``%(month)s`` (the month an NHIS premium pays for), ``%(title)s`` (a
    custom deadline's title), ``%(start)s``/``%(end)s`` (an action window).

    ``subject``/``subject_past`` name the deadline neutrally ("Visa expires
    ...": subjects, and what an office reads); ``headline``/``headline_past``
    tell the person. ``advice`` is what to do before the date; ``overdue`` is
    what to do once it has passed, for the kinds done at an office (the
    window, the closed-day line and online filing no longer apply then).
    """

    name: Msg
    event: Msg
    subject: Msg
    subject_past: Msg
    headline: Msg
    headline_past: Msg
    action: Msg
    what: Msg | None = None
    consequence: Msg | None = None
    advice: tuple[Step, ...] = ()
    overdue: Step | None = None
    window: Msg | None = None
    window_line: Msg | None = None
    #: The subject's tail when offices are closed on the date: "apply by %(date)s".
    act_by: Msg | None = None
    #: The deadline is an expiry (a document runs out), not a task: "expires today".
    expiry: bool = False


KIND_TEXTS: dict[str, KindText] = {
    "stay_expiry": KindText(
        name=NP_("stay_expiry", "Period of stay (visa)"),
        event=NP_("stay_expiry", "Visa (period of stay) expires"),
        subject=NP_("stay_expiry", "Visa expires %(date)s"),
        subject_past=NP_("stay_expiry", "Visa expired %(date)s"),
        headline=NP_("stay_expiry", "Your period of stay (visa) ends on %(date)s."),
        headline_past=NP_(
            "stay_expiry", "Your period of stay ended on %(date)s, unless you extended it."
        ),
        action=NP_("stay_expiry", "Mark the period of stay ending %(date)s as extended"),
        what=NP_(
            "stay_expiry",
            "This is the last day of your period of stay, as printed on your residence card "
            "or e-permit. You can apply for an extension from four months before this date "
            "up to the date itself (Immigration Act art. 25).",
        ),
        consequence=NP_(
            "stay_expiry",
            "Staying past this date without an extension is overstaying. There is a penalty "
            "even for one day late. In serious cases it means deportation and up to 3 years "
            "in prison or a fine of up to KRW 20 million (arts. 46, 94). Unpaid health "
            "insurance premiums can limit or block the extension.",
        ),
        advice=(
            Step(
                NP_(
                    "stay_expiry",
                    "Apply on HiKorea (하이코리아): e-Application > Extension of Sojourn Period "
                    "(체류기간 연장허가), on a weekday. Or book a visit at your immigration "
                    "office.",
                ),
                NP_(
                    "stay_expiry",
                    "Apply on HiKorea (하이코리아): e-Application > Extension of Sojourn Period "
                    "(체류기간 연장허가), on a weekday. Or book a visit at their immigration "
                    "office.",
                ),
            ),
            Step(
                NP_(
                    "stay_expiry",
                    "Bring your passport, residence card, proof of residence and the documents "
                    "your status requires.",
                ),
                NP_(
                    "stay_expiry",
                    "They need their passport, residence card, proof of residence and the "
                    "documents their status requires.",
                ),
            ),
            Step(
                NP_(
                    "stay_expiry",
                    "The fee is KRW 60,000, or KRW 48,000 if you apply online (%(discount)s off).",
                ),
                NP_(
                    "stay_expiry",
                    "The fee is KRW 60,000, or KRW 48,000 online (%(discount)s off).",
                ),
            ),
        ),
        overdue=Step(
            NP_(
                "stay_expiry",
                "If you have not applied, call 1345 or go to your immigration office today. "
                "If you extended it, press the button below and the reminders stop.",
            ),
            NP_(
                "stay_expiry",
                "If they have not applied, they should call 1345 or go to their immigration "
                "office today. If they extended it, record it below and the reminders stop.",
            ),
        ),
        window=NP_("stay_expiry", "Extension window open"),
        window_line=NP_("stay_expiry", "You can apply for an extension from %(start)s to %(end)s."),
        act_by=NP_("stay_expiry", "apply by %(date)s"),
        expiry=True,
    ),
    "arc_registration": KindText(
        name=NP_("arc_registration", "Foreigner registration (residence card)"),
        event=NP_("arc_registration", "Foreigner registration due"),
        subject=NP_("arc_registration", "Foreigner registration due %(date)s"),
        subject_past=NP_("arc_registration", "Foreigner registration was due %(date)s"),
        headline=NP_("arc_registration", "Please register as a foreign resident by %(date)s."),
        headline_past=NP_("arc_registration", "Your foreigner registration was due on %(date)s."),
        action=NP_("arc_registration", "Mark foreigner registration (due %(date)s) as done"),
        what=NP_(
            "arc_registration",
            "Anyone staying in Korea for more than 90 days must register within 90 days of "
            "entry (Immigration Act art. 31). The day you arrived counts as day 1, so the "
            "last day is 89 days after entry.",
        ),
        consequence=NP_(
            "arc_registration",
            "You pay a penalty that grows with the delay. In serious cases it "
            "means up to 1 year in prison or a fine of up to KRW 10 million (arts. 46, 95).",
        ),
        advice=(
            Step(
                NP_(
                    "arc_registration",
                    "Book a visit (방문예약) on HiKorea (하이코리아) at the immigration office "
                    "for your address now: slots run out. Ask for foreigner registration "
                    "(외국인등록).",
                ),
                NP_(
                    "arc_registration",
                    "Book a visit (방문예약) on HiKorea (하이코리아) at the immigration office "
                    "for their address now: slots run out. Ask for foreigner registration "
                    "(외국인등록).",
                ),
            ),
            Step(
                NP_(
                    "arc_registration",
                    "Bring your passport, one 3.5 x 4.5 cm photo, proof of residence, the "
                    "documents your status requires and the fee.",
                ),
                NP_(
                    "arc_registration",
                    "They need their passport, one 3.5 x 4.5 cm photo, proof of residence, "
                    "the documents their status requires and the fee.",
                ),
            ),
        ),
        overdue=Step(
            NP_(
                "arc_registration",
                "If you have not registered, call 1345 or go to your immigration office today. "
                "If you have registered, press the button below and the reminders stop.",
            ),
            NP_(
                "arc_registration",
                "If they have not registered, they should call 1345 or go to their immigration "
                "office today. If they have registered, record it below and the reminders "
                "stop.",
            ),
        ),
        window=NP_("arc_registration", "Registration window open"),
        window_line=NP_("arc_registration", "You can register from %(start)s to %(end)s."),
        act_by=NP_("arc_registration", "register by %(date)s"),
    ),
    "arc_expiry": KindText(
        name=NP_("arc_expiry", "Permanent Resident Card (F-5)"),
        event=NP_("arc_expiry", "Permanent Resident Card (F-5) expires"),
        subject=NP_("arc_expiry", "F-5 card expires %(date)s"),
        subject_past=NP_("arc_expiry", "F-5 card expired %(date)s"),
        headline=NP_("arc_expiry", "Your Permanent Resident Card (F-5) expires on %(date)s."),
        headline_past=NP_(
            "arc_expiry",
            "Your Permanent Resident Card (F-5) expired on %(date)s, unless you have a new one.",
        ),
        action=NP_("arc_expiry", "Mark the F-5 card expiring %(date)s as reissued"),
        what=NP_(
            "arc_expiry",
            "This is the expiry date on your Permanent Resident Card (F-5). Cards issued "
            "since 21 September 2018 are valid for 10 years. Have the card reissued before "
            "it expires.",
        ),
        consequence=NP_(
            "arc_expiry",
            "You can get an administrative fine of up to KRW 2,000,000.",
        ),
        advice=(
            Step(
                NP_(
                    "arc_expiry",
                    "Book a visit (방문예약) on HiKorea (하이코리아) to have the card reissued.",
                )
            ),
            Step(
                NP_("arc_expiry", "Bring your passport, your current card, one photo and the fee."),
                NP_(
                    "arc_expiry",
                    "They need their passport, their current card, one photo and the fee.",
                ),
            ),
        ),
        overdue=Step(
            NP_(
                "arc_expiry",
                "If you have not applied for a new card, call 1345 or go to your immigration "
                "office today. If you have it, press the button below and the reminders stop.",
            ),
            NP_(
                "arc_expiry",
                "If they have not applied for a new card, they should call 1345 or go to their "
                "immigration office today. If they have it, record it below and the reminders "
                "stop.",
            ),
        ),
        act_by=NP_("arc_expiry", "apply by %(date)s"),
        expiry=True,
    ),
    "address_report": KindText(
        name=NP_("address_report", "Change of address report"),
        event=NP_("address_report", "Address report due"),
        subject=NP_("address_report", "Report your new address by %(date)s"),
        subject_past=NP_("address_report", "Address report was due %(date)s"),
        headline=NP_("address_report", "Please report your new address by %(date)s."),
        headline_past=NP_("address_report", "Your new address was due to be reported by %(date)s."),
        action=NP_("address_report", "Mark the address report (due %(date)s) as done"),
        what=NP_(
            "address_report",
            "After you move, you must report your new address within 15 days (14 for F-4); "
            "staywatch reminds you a day early (Immigration Act art. 36; Overseas Koreans "
            "Act for F-4).",
        ),
        consequence=NP_("address_report", "You can be fined up to KRW 1,000,000."),
        advice=(
            Step(
                NP_(
                    "address_report",
                    "Report it on HiKorea (하이코리아), at your gu office or community centre "
                    "(주민센터), or at the immigration office. Ask for a change of address "
                    "report (체류지 변경신고).",
                ),
                NP_(
                    "address_report",
                    "They can report it on HiKorea (하이코리아), at their gu office or community "
                    "centre (주민센터), or at the immigration office (체류지 변경신고).",
                ),
            ),
            Step(
                NP_(
                    "address_report",
                    "Bring your residence card, passport and your lease or accommodation "
                    "confirmation.",
                ),
                NP_(
                    "address_report",
                    "They need their residence card, passport and their lease or accommodation "
                    "confirmation.",
                ),
            ),
        ),
        overdue=Step(
            NP_(
                "address_report",
                "If you have not reported it, call 1345 or go to your community centre "
                "(주민센터) or immigration office today. If you have, press the button below "
                "and the reminders stop.",
            ),
            NP_(
                "address_report",
                "If they have not reported it, they should call 1345 or go to their community "
                "centre (주민센터) or immigration office today. If they have, record it below "
                "and the reminders stop.",
            ),
        ),
        window=NP_("address_report", "Address report window open"),
        window_line=NP_("address_report", "You can report it from %(start)s to %(end)s."),
        act_by=NP_("address_report", "report by %(date)s"),
    ),
    "nhis_premium": KindText(
        name=NP_("nhis_premium", "Health insurance (NHIS) premium"),
        event=NP_("nhis_premium", "NHIS premium due"),
        subject=NP_("nhis_premium", "NHIS premium for %(month)s due %(date)s"),
        # Past the date too: the subject's "3 days overdue" says it, in fewer characters.
        subject_past=NP_("nhis_premium", "NHIS premium for %(month)s due %(date)s"),
        headline=NP_("nhis_premium", "Your NHIS premium for %(month)s is due on %(date)s."),
        headline_past=NP_("nhis_premium", "Your NHIS premium for %(month)s was due on %(date)s."),
        action=NP_("nhis_premium", "Mark the NHIS premium for %(month)s as paid"),
        what=NP_(
            "nhis_premium",
            "The monthly National Health Insurance (건강보험) premium. Foreign residents pay "
            "each month in advance, by the 25th of the month before (F-5 and F-6 holders: by "
            "the 10th of the month after). A due date on a weekend or holiday moves to the "
            "next business day. The amount is on your NHIS bill and in The건강보험 app.",
        ),
        consequence=NP_(
            "nhis_premium",
            "If you pay late, an arrears charge is added, up to %(rate)s in all. After a "
            "notice, your health insurance benefits can be stopped until you pay what you "
            "owe. Unpaid premiums can also shorten or block your next visa extension.",
        ),
        advice=(
            Step(
                NP_(
                    "nhis_premium",
                    "Pay in The건강보험 app, by virtual account or at a bank, or by card at an "
                    "NHIS branch.",
                )
            ),
            Step(
                NP_(
                    "nhis_premium",
                    "Auto-debit (자동이체) pays on time by itself and takes KRW 200 off each "
                    "month.",
                )
            ),
            Step(
                NP_(
                    "nhis_premium",
                    "Check that the payment went through, on the NHIS website or in the app, "
                    "and keep the receipt.",
                )
            ),
        ),
        expiry=False,
    ),
    "passport_expiry": KindText(
        name=NP_("passport_expiry", "Passport"),
        event=NP_("passport_expiry", "Passport expires"),
        subject=NP_("passport_expiry", "Passport expires %(date)s"),
        subject_past=NP_("passport_expiry", "Passport expired %(date)s"),
        headline=NP_("passport_expiry", "Your passport expires on %(date)s."),
        headline_past=NP_("passport_expiry", "Your passport expired on %(date)s."),
        action=NP_("passport_expiry", "Mark the passport expiring %(date)s as renewed"),
        what=NP_(
            "passport_expiry",
            "This is the expiry date of your passport. Since 1 July 2021 a period of stay is "
            "granted only up to the passport's expiry, and renewing a passport at an embassy "
            "can take months.",
        ),
        consequence=NP_(
            "passport_expiry",
            "Your next period of stay can be cut short to the passport's expiry, and you "
            "cannot travel on an expired passport.",
        ),
        advice=(
            Step(
                NP_("passport_expiry", "Start the renewal at your embassy or consulate now."),
                NP_("passport_expiry", "Start the renewal at their embassy or consulate now."),
            ),
            Step(
                NP_(
                    "passport_expiry",
                    "When you have the new passport, report it to immigration within 15 days "
                    "(art. 35), on HiKorea (하이코리아) or in person (외국인등록사항 변경신고). "
                    "Ask the person who set up these reminders to add a registration_change "
                    "deadline, so that you are reminded.",
                ),
                NP_(
                    "passport_expiry",
                    "When they have the new passport, they must report it to immigration within "
                    "15 days (art. 35): a change of registration report (외국인등록사항 "
                    "변경신고). Add a registration_change deadline in staywatch so that they are "
                    "reminded.",
                ),
            ),
        ),
        expiry=True,
    ),
    # -- re-entry, changes of registration, newborns, age 17, the E-9 workplace change,
    # NHIS enrolment (DOMAIN.md's sections of those names) --------------------------------
    "reentry": KindText(
        name=NP_("reentry", "Re-entry to Korea"),
        event=NP_("reentry", "Last day to re-enter Korea"),
        subject=NP_("reentry", "Back in Korea by %(date)s"),
        subject_past=NP_("reentry", "Re-entry deadline was %(date)s"),
        headline=NP_("reentry", "Please be back in Korea by %(date)s."),
        headline_past=NP_(
            "reentry", "Your last day to come back to Korea without a permit was %(date)s."
        ),
        action=NP_("reentry", "Mark the return to Korea (by %(date)s) as done"),
        what=NP_(
            "reentry",
            "After you leave Korea, you can come back without a re-entry permit within one "
            "year (two years for permanent residents, F-5), but not after your period of "
            "stay ends (Immigration Act art. 30). This date is whichever comes first.",
        ),
        consequence=NP_(
            "reentry",
            "If you come back later, your status of stay and your foreigner registration are "
            "gone, unless you got a re-entry permit (재입국허가) before you left. You would "
            "need a new visa.",
        ),
        advice=(
            Step(
                NP_("reentry", "Book your flight so that you land in Korea by this date."),
                NP_(
                    "reentry",
                    "They should book their flight so that they land in Korea by this date.",
                ),
            ),
            Step(
                NP_(
                    "reentry",
                    "If you cannot come back in time, apply for a re-entry permit (재입국허가) "
                    "or an extension of stay by this date: call 1345 or check HiKorea "
                    "(하이코리아). An embassy or consulate abroad cannot extend it.",
                ),
                NP_(
                    "reentry",
                    "If they cannot come back in time, they must apply for a re-entry permit "
                    "(재입국허가) or an extension of stay by this date: 1345 and HiKorea "
                    "(하이코리아) can help. An embassy or consulate abroad cannot extend it.",
                ),
            ),
        ),
    ),
    "registration_change": KindText(
        name=NP_("registration_change", "Change of registration report"),
        event=NP_("registration_change", "Registration change report due"),
        subject=NP_("registration_change", "Registration change report due %(date)s"),
        # Past the date too: the subject's "1 day overdue" says it, in fewer characters.
        subject_past=NP_("registration_change", "Registration change report due %(date)s"),
        headline=NP_(
            "registration_change",
            "Please report the change to your foreigner registration by %(date)s.",
        ),
        headline_past=NP_(
            "registration_change",
            "The change to your foreigner registration was due to be reported by %(date)s.",
        ),
        action=NP_(
            "registration_change", "Mark the registration change report (due %(date)s) as done"
        ),
        what=NP_(
            "registration_change",
            "You must report a change to your foreigner registration within 15 days: a new "
            "passport, a new name, sex, date of birth or nationality (Immigration Act art. 35), "
            "and for some statuses a new workplace (art. 21) or school. staywatch reminds you a "
            "day early.",
        ),
        consequence=NP_("registration_change", "You can be fined up to KRW 1,000,000."),
        advice=(
            Step(
                NP_(
                    "registration_change",
                    "Report it on HiKorea (하이코리아): e-Application > Change of registration "
                    "details (외국인등록사항 변경신고). Or go to your immigration office.",
                ),
                NP_(
                    "registration_change",
                    "They can report it on HiKorea (하이코리아): e-Application > Change of "
                    "registration details (외국인등록사항 변경신고), or at their immigration "
                    "office.",
                ),
            ),
            Step(
                NP_(
                    "registration_change",
                    "Bring your residence card, your passport (the new and the old one, if it "
                    "changed) and proof of the change.",
                ),
                NP_(
                    "registration_change",
                    "They need their residence card, their passport (the new and the old one, "
                    "if it changed) and proof of the change.",
                ),
            ),
        ),
        overdue=Step(
            NP_(
                "registration_change",
                "If you have not reported it, call 1345 or go to your immigration office today. "
                "If you have, press the button below and the reminders stop.",
            ),
            NP_(
                "registration_change",
                "If they have not reported it, they should call 1345 or go to their immigration "
                "office today. If they have, record it below and the reminders stop.",
            ),
        ),
        window=NP_("registration_change", "Registration change report window open"),
        window_line=NP_("registration_change", "You can report it from %(start)s to %(end)s."),
        act_by=NP_("registration_change", "report by %(date)s"),
    ),
    "registration_change:passport": KindText(
        name=NP_("registration_change:passport", "New passport report"),
        event=NP_("registration_change:passport", "New passport report due"),
        subject=NP_("registration_change:passport", "New passport report due %(date)s"),
        subject_past=NP_("registration_change:passport", "New passport report was due %(date)s"),
        headline=NP_(
            "registration_change:passport",
            "Please report your new passport to immigration by %(date)s.",
        ),
        headline_past=NP_(
            "registration_change:passport",
            "Your new passport was due to be reported by %(date)s.",
        ),
        action=NP_(
            "registration_change:passport", "Mark the new passport report (due %(date)s) as done"
        ),
        what=NP_(
            "registration_change:passport",
            "When you get a new passport, you must report it to immigration within 15 days "
            "(Immigration Act art. 35). staywatch reminds you a day early.",
        ),
        consequence=NP_("registration_change:passport", "You can be fined up to KRW 1,000,000."),
        advice=(
            Step(
                NP_(
                    "registration_change:passport",
                    "Report it on HiKorea (하이코리아): e-Application > Change of registration "
                    "details (외국인등록사항 변경신고). Or go to your immigration office.",
                ),
                NP_(
                    "registration_change:passport",
                    "They can report it on HiKorea (하이코리아): e-Application > Change of "
                    "registration details (외국인등록사항 변경신고), or at their immigration "
                    "office.",
                ),
            ),
            Step(
                NP_(
                    "registration_change:passport",
                    "Bring your residence card and both passports, the new one and the old one.",
                ),
                NP_(
                    "registration_change:passport",
                    "They need their residence card and both passports, the new one and the "
                    "old one.",
                ),
            ),
        ),
        overdue=Step(
            NP_(
                "registration_change:passport",
                "If you have not reported your new passport, call 1345 or go to your "
                "immigration office today. If you have, press the button below and the "
                "reminders stop.",
            ),
            NP_(
                "registration_change:passport",
                "If they have not reported their new passport, they should call 1345 or go to "
                "their immigration office today. If they have, record it below and the "
                "reminders stop.",
            ),
        ),
        window=NP_("registration_change:passport", "New passport report window open"),
        window_line=NP_(
            "registration_change:passport", "You can report it from %(start)s to %(end)s."
        ),
        act_by=NP_("registration_change:passport", "report by %(date)s"),
    ),
    "newborn_status": KindText(
        name=NP_("newborn_status", "Status of stay for a baby born in Korea"),
        event=NP_("newborn_status", "Baby's status of stay due"),
        subject=NP_("newborn_status", "Baby's status of stay due %(date)s"),
        subject_past=NP_("newborn_status", "Baby's status of stay was due %(date)s"),
        headline=NP_("newborn_status", "Please apply for your baby's status of stay by %(date)s."),
        headline_past=NP_("newborn_status", "Your baby's status of stay was due on %(date)s."),
        action=NP_("newborn_status", "Mark the baby's status of stay (due %(date)s) as done"),
        what=NP_(
            "newborn_status",
            "A foreign child born in Korea needs a status of stay within 90 days of birth "
            "(Immigration Act art. 23). The day of birth counts as day 1, so the last day is "
            "89 days after the birth.",
        ),
        consequence=NP_(
            "newborn_status",
            "After this date your baby would be in Korea without a status of stay, which the "
            "Immigration Act does not allow.",
        ),
        advice=(
            Step(
                NP_(
                    "newborn_status",
                    "Book a visit (방문예약) on HiKorea (하이코리아) at your immigration office. "
                    "Ask for the grant of a status of stay (체류자격 부여).",
                ),
                NP_(
                    "newborn_status",
                    "Book a visit (방문예약) on HiKorea (하이코리아) at their immigration office. "
                    "Ask for the grant of a status of stay (체류자격 부여).",
                ),
            ),
            Step(
                NP_(
                    "newborn_status",
                    "Bring the birth certificate, both parents' residence cards, the baby's "
                    "passport if it has one, and the fee.",
                ),
                NP_(
                    "newborn_status",
                    "They need the birth certificate, both parents' residence cards, the baby's "
                    "passport if it has one, and the fee.",
                ),
            ),
            Step(
                NP_(
                    "newborn_status",
                    "You can register your baby as a foreign resident (외국인등록) at the same "
                    "visit.",
                ),
                NP_(
                    "newborn_status",
                    "The baby can be registered as a foreign resident (외국인등록) at the same "
                    "visit.",
                ),
            ),
        ),
        overdue=Step(
            NP_(
                "newborn_status",
                "If you have not applied, call 1345 or go to your immigration office today. "
                "If you have, press the button below and the reminders stop.",
            ),
            NP_(
                "newborn_status",
                "If they have not applied, they should call 1345 or go to their immigration "
                "office today. If they have, record it below and the reminders stop.",
            ),
        ),
        window=NP_("newborn_status", "Baby's status of stay window open"),
        window_line=NP_("newborn_status", "You can apply from %(start)s to %(end)s."),
        act_by=NP_("newborn_status", "apply by %(date)s"),
    ),
    "arc_at_17": KindText(
        name=NP_("arc_at_17", "Foreigner registration at 17"),
        event=NP_("arc_at_17", "Foreigner registration at 17 due"),
        subject=NP_("arc_at_17", "Registration at 17 due %(date)s"),
        subject_past=NP_("arc_at_17", "Registration at 17 was due %(date)s"),
        headline=NP_("arc_at_17", "Foreigner registration at 17 is due on %(date)s."),
        headline_past=NP_("arc_at_17", "Foreigner registration at 17 was due on %(date)s."),
        action=NP_("arc_at_17", "Mark foreigner registration at 17 (due %(date)s) as done"),
        what=NP_(
            "arc_at_17",
            "Foreign residents under 17 do not have to register. Within 90 days of turning "
            "17, they must register as a foreign resident (Immigration Act art. 31). The "
            "17th birthday counts as day 1, so the last day is 89 days after it.",
        ),
        consequence=NP_(
            "arc_at_17",
            "There is a penalty that grows with the delay. In serious cases it means up to "
            "1 year in prison or a fine of up to KRW 10 million (arts. 46, 95).",
        ),
        advice=(
            Step(
                NP_(
                    "arc_at_17",
                    "Book a visit (방문예약) on HiKorea (하이코리아) at the immigration office "
                    "for your address now: slots run out. Ask for foreigner registration "
                    "(외국인등록).",
                ),
                NP_(
                    "arc_at_17",
                    "Book a visit (방문예약) on HiKorea (하이코리아) at the immigration office "
                    "for their address now: slots run out. Ask for foreigner registration "
                    "(외국인등록).",
                ),
            ),
            Step(
                NP_(
                    "arc_at_17",
                    "Bring the passport, one 3.5 x 4.5 cm photo, proof of residence, the "
                    "documents the status requires and the fee.",
                ),
                NP_(
                    "arc_at_17",
                    "They need the passport, one 3.5 x 4.5 cm photo, proof of residence, the "
                    "documents the status requires and the fee.",
                ),
            ),
        ),
        overdue=Step(
            NP_(
                "arc_at_17",
                "If the registration is not done, call 1345 or go to your immigration office "
                "today. If it is done, press the button below and the reminders stop.",
            ),
            NP_(
                "arc_at_17",
                "If the registration is not done, they should call 1345 or go to their "
                "immigration office today. If it is done, record it below and the reminders "
                "stop.",
            ),
        ),
        window=NP_("arc_at_17", "Registration window open (age 17)"),
        window_line=NP_("arc_at_17", "You can register from %(start)s to %(end)s."),
        act_by=NP_("arc_at_17", "register by %(date)s"),
    ),
    "workplace_change": KindText(
        name=NP_("workplace_change", "Change of workplace (E-9)"),
        event=NP_("workplace_change", "Workplace change application due"),
        subject=NP_("workplace_change", "Workplace change application due %(date)s"),
        # Past the date too: the subject's "1 day overdue" says it, in fewer characters.
        subject_past=NP_("workplace_change", "Workplace change application due %(date)s"),
        headline=NP_("workplace_change", "Please apply for a change of workplace by %(date)s."),
        headline_past=NP_(
            "workplace_change", "Your application for a change of workplace was due on %(date)s."
        ),
        action=NP_(
            "workplace_change", "Mark the workplace change application (due %(date)s) as done"
        ),
        what=NP_(
            "workplace_change",
            "Your employment contract has ended. The Act on the Employment of Foreign Workers "
            "(art. 25) gives you one month from its end to apply for a change of workplace at the "
            "Employment Center (고용센터).",
        ),
        consequence=NP_("workplace_change", "If you do not apply in time, you must leave Korea."),
        advice=(
            Step(
                NP_(
                    "workplace_change",
                    "Apply at your Employment Center (고용센터) or on EPS (www.eps.go.kr) as "
                    "soon as you can. Ask for a change of workplace (사업장 변경 신청).",
                ),
                NP_(
                    "workplace_change",
                    "They should apply at their Employment Center (고용센터) or on EPS "
                    "(www.eps.go.kr) as soon as they can (사업장 변경 신청).",
                ),
            ),
            Step(
                NP_(
                    "workplace_change",
                    "Keep the papers that show your contract ended (release or termination).",
                ),
                NP_(
                    "workplace_change",
                    "They should keep the papers that show their contract ended (release or "
                    "termination).",
                ),
            ),
            Step(
                NP_(
                    "workplace_change",
                    "When you have applied, tell the person who set up these reminders the date "
                    "you applied. staywatch then reminds you of the next deadline.",
                ),
                NP_(
                    "workplace_change",
                    "When they have applied, add the date to their workplace_change deadline "
                    "(applied = the date). staywatch then reminds them of the next deadline, "
                    "the permission for the new workplace.",
                ),
            ),
            Step(
                NP_(
                    "workplace_change",
                    "For help, call 1350 (Ministry of Employment and Labor).",
                )
            ),
        ),
        overdue=Step(
            NP_(
                "workplace_change",
                "If you have not applied, call 1350 or go to your Employment Center (고용센터) "
                "today. If you have, press the button below and the reminders stop.",
            ),
            NP_(
                "workplace_change",
                "If they have not applied, they should call 1350 or go to their Employment "
                "Center (고용센터) today. If they have, record it below and the reminders stop.",
            ),
        ),
        window=NP_("workplace_change", "Workplace change window open"),
        window_line=NP_("workplace_change", "You can apply from %(start)s to %(end)s."),
        act_by=NP_("workplace_change", "apply by %(date)s"),
    ),
    "workplace_change:permit": KindText(
        name=NP_("workplace_change:permit", "New workplace permission (E-9)"),
        event=NP_("workplace_change:permit", "New workplace permission due"),
        subject=NP_("workplace_change:permit", "New workplace permission due %(date)s"),
        # Past the date too: the subject's "1 day overdue" says it, in fewer characters.
        subject_past=NP_("workplace_change:permit", "New workplace permission due %(date)s"),
        headline=NP_(
            "workplace_change:permit",
            "Please get the permission to work at your new workplace by %(date)s.",
        ),
        headline_past=NP_(
            "workplace_change:permit",
            "The permission for your new workplace was due on %(date)s.",
        ),
        action=NP_(
            "workplace_change:permit", "Mark the new workplace permission (due %(date)s) as done"
        ),
        what=NP_(
            "workplace_change:permit",
            "You have applied for a change of workplace. The Act on the Employment of Foreign "
            "Workers (art. 25) gives you three months from the application to get the permission "
            "for a new workplace (근무처 변경허가).",
        ),
        consequence=NP_(
            "workplace_change:permit",
            "If you do not get the permission in time, you must leave Korea.",
        ),
        advice=(
            Step(
                NP_(
                    "workplace_change:permit",
                    "Keep in touch with your Employment Center (고용센터) about job offers, and "
                    "check EPS (www.eps.go.kr).",
                ),
                NP_(
                    "workplace_change:permit",
                    "They should keep in touch with their Employment Center (고용센터) about job "
                    "offers, and check EPS (www.eps.go.kr).",
                ),
            ),
            Step(
                NP_(
                    "workplace_change:permit",
                    "When a new employer hires you, make sure the permission (근무처 변경허가) "
                    "is granted by this date. The employer and the Employment Center can help.",
                ),
                NP_(
                    "workplace_change:permit",
                    "When a new employer hires them, make sure the permission (근무처 변경허가) "
                    "is granted by this date. The employer and the Employment Center can help.",
                ),
            ),
            Step(
                NP_(
                    "workplace_change:permit",
                    "For help, call 1350 (Ministry of Employment and Labor).",
                )
            ),
        ),
        overdue=Step(
            NP_(
                "workplace_change:permit",
                "If you do not have the permission yet, call 1350 or go to your Employment "
                "Center (고용센터) today. If you have it, press the button below and the "
                "reminders stop.",
            ),
            NP_(
                "workplace_change:permit",
                "If they do not have the permission yet, they should call 1350 or go to their "
                "Employment Center (고용센터) today. If they have it, record it below and the "
                "reminders stop.",
            ),
        ),
        window=NP_("workplace_change:permit", "New workplace permission window open"),
        window_line=NP_(
            "workplace_change:permit",
            "You have from %(start)s to %(end)s to get the permission.",
        ),
        act_by=NP_("workplace_change:permit", "get it by %(date)s"),
    ),
    "nhis_enrolment": KindText(
        name=NP_("nhis_enrolment", "Health insurance (NHIS) enrolment"),
        event=NP_("nhis_enrolment", "Health insurance (NHIS) starts"),
        subject=NP_("nhis_enrolment", "Health insurance starts %(date)s"),
        subject_past=NP_("nhis_enrolment", "Health insurance started %(date)s"),
        headline=NP_("nhis_enrolment", "Your National Health Insurance (NHIS) starts on %(date)s."),
        headline_past=NP_(
            "nhis_enrolment", "Your National Health Insurance (NHIS) started on %(date)s."
        ),
        action=NP_("nhis_enrolment", "Mark the NHIS enrolment (%(date)s) as noted"),
        what=NP_(
            "nhis_enrolment",
            "Foreign residents who stay six months or more are enrolled in the National Health "
            "Insurance (건강보험) automatically (since 16 July 2019). Students on D-2 and D-4-3 "
            "are enrolled on the day of their foreigner registration. You do not need to do "
            "anything on this day.",
        ),
        consequence=NP_(
            "nhis_enrolment",
            "This one happens by itself. But from then on a premium is due every month: unpaid "
            "premiums bring an arrears charge and can shorten or block your next visa extension.",
        ),
        advice=(
            Step(
                NP_(
                    "nhis_enrolment",
                    "Your first premium bill will follow. Foreign residents pay in advance, by "
                    "the 25th of the month before.",
                ),
                NP_(
                    "nhis_enrolment",
                    "Their first premium bill will follow. Foreign residents pay in advance, by "
                    "the 25th of the month before.",
                ),
            ),
            Step(
                NP_(
                    "nhis_enrolment",
                    "Set up auto-debit (자동이체) in The건강보험 app or at a bank: it pays on "
                    "time by itself and takes KRW 200 off each month.",
                ),
                NP_(
                    "nhis_enrolment",
                    "Auto-debit (자동이체), set up in The건강보험 app or at a bank, pays on time "
                    "by itself and takes KRW 200 off each month.",
                ),
            ),
            Step(
                NP_(
                    "nhis_enrolment",
                    "Students may get a reduced premium. If you have equivalent insurance (for "
                    "example an employer's plan from abroad), you can ask an NHIS branch to "
                    "exclude you.",
                ),
                NP_(
                    "nhis_enrolment",
                    "Students may get a reduced premium. Someone with equivalent insurance (for "
                    "example an employer's plan from abroad) can ask an NHIS branch to exclude "
                    "them.",
                ),
            ),
            Step(
                NP_(
                    "nhis_enrolment",
                    "Ask the person who set up these reminders to add the monthly premium "
                    "(nhis_premium), so that you are reminded of each one.",
                ),
                NP_(
                    "nhis_enrolment",
                    "Add an nhis_premium deadline in staywatch from the first month, so that "
                    "they are reminded of each premium.",
                ),
            ),
        ),
    ),
    "custom": KindText(
        name=NP_("custom", "Personal deadline"),
        event=NP_("custom", "Personal deadline"),
        subject=NP_("custom", "%(title)s due %(date)s"),
        subject_past=NP_("custom", "%(title)s was due %(date)s"),
        headline=NP_("custom", "%(title)s is due on %(date)s."),
        headline_past=NP_("custom", "%(title)s was due on %(date)s."),
        action=NP_("custom", "Mark “%(title)s” (%(date)s) as done"),
    ),
}

# A re-entry whose period of stay is known (``until``) says which end comes first.
KIND_TEXTS["reentry:stay"] = replace(
    KIND_TEXTS["reentry"],
    what=NP_(
        "reentry:stay",
        "After you leave Korea, you can come back without a re-entry permit within one year "
        "(two years for permanent residents, F-5), but not after your period of stay ends "
        "(Immigration Act art. 30). Your period of stay ends first, so this date is its last "
        "day.",
    ),
)
KIND_TEXTS["reentry:exemption"] = replace(
    KIND_TEXTS["reentry"],
    what=NP_(
        "reentry:exemption",
        "After you leave Korea, you can come back without a re-entry permit within one year "
        "(two years for permanent residents, F-5), but not after your period of stay ends "
        "(Immigration Act art. 30). Your period of stay ends later, so this date is the last "
        "day of the year (two years for F-5) after you left.",
    ),
)

#: With auto-debit the person only has to keep the account funded.
_AUTOPAY_STEPS = (
    NP_(
        "nhis_premium",
        "Auto-debit is set up: make sure the account holds enough on the due date.",
    ),
    NP_(
        "nhis_premium",
        "Check that the payment went through, on the NHIS website or in the app, and keep "
        "the receipt.",
    ),
)

#: The contact line each message ends with (DOMAIN.md), by ``KindRule.contact``.
CONTACT_LINES: dict[str, Msg] = {
    "immigration": NP_(
        "contact",
        "HiKorea (www.hikorea.go.kr) · Immigration Contact Center 1345 (20 languages)",
    ),
    "nhis": NP_(
        "contact",
        "NHIS (www.nhis.or.kr, The건강보험 app) · 1577-1000 · foreign languages 033-811-2000",
    ),
    "eps": NP_(
        "contact",
        "EPS (www.eps.go.kr) · Employment Center · 1350 (Ministry of Employment and Labor) · 1345",
    ),
}
#: The sites named in the contact lines, linked in HTML (translations keep them verbatim).
CONTACT_SITES: dict[str, str] = {
    "www.hikorea.go.kr": "https://www.hikorea.go.kr",
    "www.nhis.or.kr": "https://www.nhis.or.kr",
    "www.eps.go.kr": "https://www.eps.go.kr",
}

#: The online fee discount for a stay extension (DOMAIN.md: 20% less online since 2016).
ONLINE_DISCOUNT = 0.2
#: The most an NHIS arrears charge adds up to (DOMAIN.md).
ARREARS_MAX = 0.05


def _kind(kind: str) -> KindText:
    """The texts of a texts key: ``KIND`` or ``KIND:VARIANT`` (a variant falls back to its kind)."""
    found = KIND_TEXTS.get(kind) or KIND_TEXTS.get(base_kind(kind))
    return found or KIND_TEXTS["custom"]


def base_kind(kind: str) -> str:
    """The deadline kind of a texts key: ``workplace_change`` of ``workplace_change:permit``."""
    return kind.partition(":")[0]


def _values(lang: str) -> dict[str, str]:
    # Numbers some kind texts take; formatted for the reader's locale.
    return {
        "discount": format_percent(ONLINE_DISCOUNT, lang),
        "rate": format_percent(ARREARS_MAX, lang),
    }


def _filled(message: Msg | None, lang: str) -> str | None:
    """A kind text that may take the numbers of :func:`_values`."""
    if message is None:
        return None
    if "%(" in message[1]:
        return pgettext(*message, **_values(lang))
    return pgettext(*message)


def kind_name(kind: str, lang: str, title: str | None = None) -> str:
    """The kind's name ("Period of stay (visa)"); a custom deadline's title."""
    if kind == "custom" and title:
        return title
    with use_locale(lang):
        return pgettext(*_kind(kind).name)


def what_it_is(kind: str, lang: str) -> str | None:
    """What the deadline is, in a sentence or two; None for custom deadlines."""
    with use_locale(lang) as lang_:
        return _filled(_kind(kind).what, lang_)


def consequence(kind: str, lang: str) -> str | None:
    """What missing the deadline costs; None for custom deadlines."""
    with use_locale(lang) as lang_:
        return _filled(_kind(kind).consequence, lang_)


def advice(
    kind: str, lang: str, *, autopay: bool = False, office: bool = False, past: bool = False
) -> list[str]:
    """The steps to take; empty for custom deadlines.

    With ``autopay`` (NHIS) the person only has to keep the account funded.
    ``office`` words the steps for an office that looks after the person
    ("their embassy"). ``past``: the date has gone by; for kinds done at an
    office the steps (online filing, the window) no longer apply, and
    :func:`overdue_advice` says what to do instead.
    """
    text = _kind(kind)
    if past and _overdue_step(kind) is not None:
        return []
    with use_locale(lang) as lang_:
        if kind == "nhis_premium" and autopay:
            return [pgettext(*step) for step in _AUTOPAY_STEPS]
        chosen = [(step.office or step.person) if office else step.person for step in text.advice]
        return [_filled(message, lang_) or "" for message in chosen]


#: Past the date, for a kind done at an office that has no words of its own for it.
_OVERDUE_AT_AN_OFFICE = Step(
    NP_(
        "office visit",
        "If it is not done, call 1345 or go to your immigration office today. If it is "
        "done, press the button below and the reminders stop.",
    ),
    NP_(
        "office visit",
        "If it is not done, they should call 1345 or go to their immigration office today. "
        "If it is done, record it below and the reminders stop.",
    ),
)


def _overdue_step(kind: str) -> Step | None:
    step = _kind(kind).overdue
    if step is None and base_kind(kind) in OFFICE_VISIT_KINDS:
        return _OVERDUE_AT_AN_OFFICE
    return step


def overdue_advice(kind: str, lang: str, *, office: bool = False) -> str | None:
    """What to do once the date has passed, for kinds done at an office; else None."""
    step = _overdue_step(kind)
    if step is None:
        return None
    with use_locale(lang):
        return _t((step.office or step.person) if office else step.person)


def contact_line(contact: str | None, lang: str) -> str | None:
    """The closing contact line for a kind's ``KindRule.contact``; None for none."""
    message = CONTACT_LINES.get(contact or "")
    if message is None:
        return None
    with use_locale(lang):
        return pgettext(*message)


def window_label(kind: str, lang: str) -> str | None:
    """The action-window label ("Extension window open"), or None if the kind has none."""
    with use_locale(lang):
        return _t(_kind(kind).window)


def window_line(kind: str, start: date, end: date, lang: str) -> str | None:
    """The action window as a sentence: "You can apply for an extension from X to Y."."""
    message = _kind(kind).window_line
    if message is None:
        return None
    with use_locale(lang) as lang_:
        return pgettext(*message, start=long_date(start, lang_), end=long_date(end, lang_))


def event_label(
    kind: str, lang: str, *, covers: str | None = None, title: str | None = None
) -> str:
    """A calendar event's name: the deadline without its date ("Passport expires").

    An NHIS premium names the month it ``covers``; a custom deadline is its
    ``title``, or "Personal deadline" when there is none (hidden details).
    """
    with use_locale(lang) as lang_:
        if kind == "custom" or _kind(kind) is KIND_TEXTS["custom"]:
            return title or pgettext(*_kind(kind).name)
        if kind == "nhis_premium" and covers:
            return pgettext(
                "nhis_premium", "NHIS premium for %(month)s due", month=month_label(covers, lang_)
            )
        return pgettext(*_kind(kind).event)


def kind_category(kind: str, lang: str) -> str:
    """The calendar category of a kind: its name, never a custom deadline's title."""
    with use_locale(lang):
        return pgettext(*_kind(kind).name)


def stage_label(label: str, days: int, lang: str) -> str:
    """A calendar reminder ``days`` ahead: "Passport expires in 30 days", "여권 만료 D-30".

    ``label`` alone on the day itself or after it.
    """
    if days <= 0:
        return label
    with use_locale(lang):
        if days == 1:
            return pgettext("calendar stage", "%(label)s tomorrow", label=label)
        return ngettext(
            "%(label)s in %(num)d day",
            "%(label)s in %(num)d days",
            days,
            label=label,
        )


def month_label(covers: str, lang: str) -> str:
    """A ``YYYY-MM`` month for people: "January 2027", "2027년 1월", "2027年1月"."""
    year, month = (int(part) for part in covers.split("-"))
    return format_day(date(year, month, 1), language(lang), "month")


def month_name(covers: str, lang: str) -> str:
    """The month of ``YYYY-MM`` without its year: "January", "1월", "1月"."""
    year, month = (int(part) for part in covers.split("-"))
    return format_day(date(year, month, 1), language(lang), "month_name")


def long_date(day: date, lang: str) -> str:
    """A date with its weekday: "Sunday, 14 March 2027", "2027년 3월 14일(일)", ..."""
    return format_day(day, language(lang), "long")


def short_date(day: date, lang: str, *, year: bool = False) -> str:
    """A subject-line date with its weekday: "Sun 14 Mar", "3월 14일(일)", "3月14日（周日）"."""
    return format_day(day, language(lang), "short_year" if year else "short")


def _clock(when: datetime) -> str:
    return f"{when:%H:%M} {when.tzname() or ''}".rstrip()


def long_instant(when: datetime, lang: str) -> str:
    """A local date and time with weekday and zone: "Tuesday, 5 January 2027, 10:00 KST"."""
    with use_locale(lang) as lang_:
        return _("%(date)s, %(time)s", date=long_date(when.date(), lang_), time=_clock(when))


def short_instant(when: datetime, lang: str) -> str:
    """A subject-line date and time: "Tue 5 Jan, 10:00 KST"."""
    with use_locale(lang) as lang_:
        return _("%(date)s, %(time)s", date=short_date(when.date(), lang_), time=_clock(when))


# -- holidays ---------------------------------------------------------------------

#: Korean public holiday names as the ``holidays`` package spells them in en_US,
#: marked for translation (tests check that every name it gives is here).
HOLIDAY_NAMES: frozenset[str] = frozenset(
    message
    for _context, message in (
        NP_("holiday", "New Year's Day"),
        NP_("holiday", "Korean New Year"),
        NP_("holiday", "The day preceding Korean New Year"),
        NP_("holiday", "The second day of Korean New Year"),
        NP_("holiday", "Independence Movement Day"),
        NP_("holiday", "Labor Day"),
        NP_("holiday", "Children's Day"),
        NP_("holiday", "Buddha's Birthday"),
        NP_("holiday", "Memorial Day"),
        NP_("holiday", "Constitution Day"),
        NP_("holiday", "Liberation Day"),
        NP_("holiday", "Chuseok"),
        NP_("holiday", "The day preceding Chuseok"),
        NP_("holiday", "The second day of Chuseok"),
        NP_("holiday", "Armed Forces Day"),
        NP_("holiday", "National Foundation Day"),
        NP_("holiday", "Hangul Day"),
        NP_("holiday", "Christmas Day"),
        NP_("holiday", "Local Election Day"),
        NP_("holiday", "National Assembly Election Day"),
        NP_("holiday", "Presidential Election Day"),
        NP_("holiday", "Temporary Public Holiday"),
        NP_("holiday", "Saturday"),
        NP_("holiday", "Sunday"),
    )
)
_ALTERNATIVE = "Alternative holiday for "
#: What ``[service] extra_holidays`` dates are called by the business calendar.
_EXTRA_HOLIDAY = "extra holiday"
_WEEKEND = ("Saturday", "Sunday")


def _one_reason(name: str) -> str:
    if name.startswith(_ALTERNATIVE):
        return pgettext(
            "holiday",
            "Alternative holiday for %(holiday)s",
            holiday=_one_reason(name[len(_ALTERNATIVE) :]),
        )
    if name in HOLIDAY_NAMES:
        return pgettext("holiday", name)
    if name == _EXTRA_HOLIDAY:
        return pgettext("holiday", "holiday")
    # A name newer than this list: in another language the generic word reads
    # better than an English name in the middle of a sentence.
    return name if current_language() == "en" else pgettext("holiday", "public holiday")


def reason_label(reason: str, lang: str) -> str:
    """Why a day is closed (a holiday or weekday name from the holidays package), translated."""
    with use_locale(lang) as lang_:
        parts = [part.strip() for part in reason.split(";") if part.strip()]
        names = [_one_reason(part) for part in parts]
        if not names:
            return pgettext("holiday", "public holiday")
        return format_list(names, lang_)


def _weekend(day: date, reason: str) -> bool:
    """True when ``reason`` is just the day's weekday (nothing to add to the date)."""
    return day.weekday() >= 5 and reason == _WEEKEND[day.weekday() - 5]


def _day_values(day: date, lang: Language, style: DayStyle) -> dict[str, str]:
    return {
        "date": format_day(day, lang, style),
        "weekday": format_day(day, lang, "weekday_with_date"),
    }


def day_off(day: date, reason: str, lang: str, *, same_month: bool = False) -> str:
    """A closed day and why, unless its weekday says it all.

    "Friday 25 December (Christmas Day)" but "Sunday 14 March". ``same_month``:
    the day follows another of the same month in a list, so languages that can
    leave the month out do ("10월 10일(일)·11일(월)").
    """
    with use_locale(lang) as lang_:
        values = _day_values(day, lang_, "day_of_month" if same_month else "day_month")
        if _weekend(day, reason):
            return pgettext("day off", "%(weekday)s %(date)s", **values)
        return pgettext(
            "day off",
            "%(weekday)s %(date)s (%(reason)s)",
            reason=reason_label(reason, lang_),
            **values,
        )


class DayOff(Protocol):
    """A skipped day of a moved deadline (``plan.Move``): the day and why it is closed."""

    @property
    def day(self) -> date: ...

    @property
    def reason(self) -> str: ...


def days_off(moved: Sequence[DayOff], lang: str) -> str:
    """Every skipped day, as a list: "Sunday 10 October and Monday 11 October (...)"."""
    with use_locale(lang) as lang_:
        parts: list[str] = []
        previous: date | None = None
        for move in moved:
            same = previous is not None and (previous.year, previous.month) == (
                move.day.year,
                move.day.month,
            )
            parts.append(day_off(move.day, move.reason, lang_, same_month=same))
            previous = move.day
        return format_list(parts, lang_)


#: Whose offices are closed on the deadline day, by the kind's ``KindRule.contact``.
_CLOSED_NOTICES: dict[str, str] = {
    "immigration": N_(
        "Immigration offices are closed on %(day)s, and HiKorea takes no online "
        "applications that day. The last working day before it is %(last_open)s: please "
        "act by then."
    ),
    "eps": N_(
        "Employment Centers (고용센터) are closed on %(day)s. The last working day before it "
        "is %(last_open)s: please act by then."
    ),
}


def closed_notice(kind: str, day: date, reason: str, last_open: date, lang: str) -> str:
    """Offices are closed on the deadline day: act by the last business day before it.

    The offices are the ones the kind (a texts key) is done at: the Employment
    Center for a workplace change, immigration and HiKorea for the others.
    """
    rule = KIND_RULES.get(base_kind(kind))
    contact = rule.contact if rule is not None else None
    message = _CLOSED_NOTICES.get(contact or "", _CLOSED_NOTICES["immigration"])
    with use_locale(lang) as lang_:
        return _(
            message,
            day=_closed_day(day, reason, lang_),
            last_open=long_date(last_open, lang_),
        )


def _closed_day(day: date, reason: str, lang: Language) -> str:
    """The deadline day with its year, and why it is closed unless the weekday says it."""
    if _weekend(day, reason):
        return long_date(day, lang)
    return pgettext(
        "day off",
        "%(weekday)s, %(date)s (%(reason)s)",
        reason=reason_label(reason, lang),
        **_day_values(day, lang, "date"),
    )


def moved_notice(nominal: date, day: date, reason: str, lang: str) -> str:
    """The deadline was rolled off one closed day (``nominal``) to ``day``."""
    return moved_days_notice([_Move(nominal, reason)], day, lang)


@dataclass(frozen=True, slots=True)
class _Move:
    day: date
    reason: str


def moved_days_notice(moved: Sequence[DayOff], day: date, lang: str) -> str:
    """The deadline was rolled off every one of the ``moved`` days to ``day``."""
    with use_locale(lang) as lang_:
        return ngettext(
            "%(days)s is a day off, so the deadline moves to %(date)s.",
            "%(days)s are days off, so the deadline moves to %(date)s.",
            len(moved),
            days=days_off(moved, lang_),
            date=long_date(day, lang_),
        )


# -- counting days ------------------------------------------------------------------


def days_left_phrase(days: int, lang: str) -> str:
    """Relative day: "in 30 days", "tomorrow", "today", "1 day overdue"."""
    with use_locale(lang):
        if days > 1:
            return ngettext("in %(num)d day", "in %(num)d days", days)
        if days == 1:
            return pgettext("relative day", "tomorrow")
        if days == 0:
            return pgettext("relative day", "today")
        return ngettext("%(num)d day overdue", "%(num)d days overdue", -days)


def countdown(days: int, lang: str, *, expiry: bool = False) -> str:
    """The short count for subjects: "30 days left", "today", "1 day overdue".

    ``expiry``: the date is when a document runs out ("오늘 만료"), not a task's.
    """
    with use_locale(lang):
        if days > 0:
            return ngettext("%(num)d day left", "%(num)d days left", days)
        if days == 0:
            if expiry:
                return pgettext("subject, a document expires", "today")
            return pgettext("subject, a task is due", "today")
        return ngettext("%(num)d day overdue", "%(num)d days overdue", -days)


def countdown_sentence(days: int, lang: str) -> str:
    """A sentence for the body: "That is 30 days from today." and so on."""
    with use_locale(lang):
        if days > 1:
            return ngettext(
                "That is %(num)d day from today.", "That is %(num)d days from today.", days
            )
        if days == 1:
            return _("That is tomorrow.")
        if days == 0:
            return _("That is today.")
        return ngettext("That was %(num)d day ago.", "That was %(num)d days ago.", -days)


# -- what is due when ----------------------------------------------------------------


def _kind_values(
    lang: str, when: str, covers: str | None, title: str | None, kind: str, *, short: bool
) -> dict[str, str]:
    month = ""
    if covers:
        month = month_name(covers, lang) if short else month_label(covers, lang)
    return {
        "date": when,
        "month": month,
        "title": title or pgettext(*_kind(kind).name),
    }


def headline(
    kind: str,
    lang: str,
    *,
    when: str,
    past: bool = False,
    covers: str | None = None,
    title: str | None = None,
    short: bool = True,
) -> str:
    """What is due and when, neutrally: "Visa expires Sun 14 Mar".

    For subjects (``when`` a short date, the covered month without its year)
    and for what an office reads (``short=False``: a long date, the month with
    its year). ``past`` switches to the form for a date that has gone by.
    """
    text = _kind(kind)
    with use_locale(lang) as lang_:
        values = _kind_values(lang_, when, covers, title, kind, short=short)
        return pgettext(*(text.subject_past if past else text.subject), **values)


def body_headline(
    kind: str,
    lang: str,
    *,
    when: str,
    past: bool = False,
    covers: str | None = None,
    title: str | None = None,
) -> str:
    """What is due and when, told to the person: "Your passport expires on ...".

    ``when`` is the date already formatted (long).
    """
    text = _kind(kind)
    with use_locale(lang) as lang_:
        values = _kind_values(lang_, when, covers, title, kind, short=False)
        return pgettext(*(text.headline_past if past else text.headline), **values)


def subject_line(what: str, tail: str, lang: str) -> str:
    """A subject: what is due, then how long is left ("... — 7 days left")."""
    with use_locale(lang):
        return _("%(what)s — %(countdown)s", what=what, countdown=tail)


def act_by(kind: str, last_open: date, lang: str) -> str:
    """A subject's tail when offices are closed on the date: "apply by Fri 12 Mar"."""
    message = _kind(kind).act_by
    with use_locale(lang) as lang_:
        when = short_date(last_open, lang_)
        if message is None:
            return _("act by %(date)s", date=when)
        return pgettext(*message, date=when)


def is_expiry(kind: str) -> bool:
    """True when the kind's date is when a document runs out."""
    return _kind(kind).expiry


def action_label(
    kind: str,
    language: str,
    occurrence_date: date,
    covers: str | None = None,
    *,
    title: str | None = None,
) -> str:
    """The acknowledge action: "Mark the NHIS premium for January 2027 as paid"."""
    text = _kind(kind)
    with use_locale(language) as lang_:
        month = month_label(covers, lang_) if covers else ""
        return pgettext(
            *text.action,
            date=long_date(occurrence_date, lang_),
            month=month,
            title=title or pgettext(*text.name),
        )


# -- shared UI strings ----------------------------------------------------------------

#: Strings looked up by name (the web pages, tests and a few callers share them).
UI: dict[str, str] = {
    "greeting": N_("Hello %(name)s,"),
    "note": N_("Note: %(note)s"),
    "overdue": N_(
        "The date has passed and we have no record that this was done. If it is done, use "
        "the link below and the reminders stop. If not, please do it today."
    ),
    "what_is": N_("What this is"),
    "if_missed": N_("If you miss it"),
    "why_it_matters": N_("Why it matters"),
    "what_to_do": N_("What to do"),
    "ack_intro": N_("Already done? Let staywatch know and the reminders for this date stop:"),
    "ack_button": N_("I have done this"),
    "ack_explain": N_(
        "The link opens a confirmation page. Nothing is recorded until you press the button there."
    ),
    "footer": N_("Sent by staywatch (%(key)s). This is a reminder, not legal advice."),
    "test_subject": N_("staywatch test message"),
    "test_body": N_(
        "This is a test message from staywatch, sent %(when)s. If you can read it, email "
        "delivery works."
    ),
    # -- pages ----------------------------------------------------------------------
    "confirm_question": N_("Is this done? staywatch will stop sending reminders for it."),
    "confirm_button": N_("Yes, it is done"),
    "confirmed": N_("Thank you. It is recorded: no more reminders will be sent for this."),
    "link_expired": N_("This link has expired. Please use the link in the latest reminder."),
    "link_gone": N_("This reminder no longer exists: its date was changed or it was removed."),
    "link_invalid": N_("This link is not valid. It may have been cut short when it was copied."),
    "deadline_on": N_("Deadline: %(date)s"),
    "done": N_("Marked as done."),
    # -- calendar -------------------------------------------------------------------
    "calendar_name": N_("staywatch: %(name)s"),
    "calendar_everyone": N_("staywatch: everyone"),
    "window_open": N_("Window open: %(label)s"),
    "person_event": N_("%(name)s: %(text)s"),
    # -- office emails ----------------------------------------------------------------
    "office_greeting": N_("Hello %(office)s,"),
    "escalation_subject": N_("Not confirmed: %(name)s — %(what)s (%(countdown)s)"),
    "escalation_subject_overdue": N_("Overdue: %(name)s — %(what)s (%(countdown)s)"),
    "escalation_intro": N_(
        "We have no record that %(name)s has handled the deadline below. Please check with them."
    ),
    "escalation_intro_overdue": N_(
        "The deadline below has passed, and we have no record that %(name)s handled it. "
        "Please check with them today."
    ),
    "escalation_overdue": N_(
        "If it is done, record it below and the reminders stop. If not, please help them act today."
    ),
    "who": N_("Who"),
    "email_label": N_("Email"),
    "history": N_("Reminders sent so far"),
    "history_none": N_("No reminder was delivered yet."),
    "result_sent": N_("sent"),
    "result_retry": N_("not delivered, will retry"),
    "result_failed": N_("not delivered, given up"),
    "server_reply": N_("server said: %(reply)s"),
    "their_steps": N_("What %(name)s has to do"),
    "office_ack_intro": N_(
        "If it is already done, you can record that here and the reminders stop:"
    ),
    "office_ack_button": N_("Record as done"),
    "dashboard_intro": N_("Everyone you look after, on the dashboard:"),
    "dashboard_link": N_("Open the dashboard"),
    "escalation_footer": N_(
        "Sent once by staywatch (%(key)s) because %(office)s looks after %(name)s. This is a "
        "reminder, not legal advice."
    ),
    "digest_subject": N_("staywatch digest for %(office)s: %(counts)s"),
    "digest_title": N_("Digest for %(office)s, %(date)s"),
    "digest_since": N_("What happened since the last digest (%(since)s) and what is coming."),
    "digest_nothing": N_("Nothing to report."),
    "section_overdue": N_("Overdue"),
    "section_upcoming": N_("Due in %(period)s"),
    "section_acknowledged": N_("Marked as done since the last digest"),
    "section_acknowledged_all": N_("Marked as done"),
    "section_failures": N_("Reminders that could not be delivered"),
    "failures_explain": N_(
        "The mail servers refused these. Please get a working address from each person and "
        "correct it in the config: staywatch does not retry a refused address."
    ),
    "section_changes": N_("Changes to the configuration since the last digest"),
    "section_changes_all": N_("Changes to the configuration"),
    "col_name": N_("Name"),
    "col_what": N_("Deadline"),
    "col_date": N_("Date"),
    "col_due": N_("Due"),
    "col_status": N_("Status"),
    "col_when": N_("When"),
    "col_by": N_("By"),
    "col_reminder": N_("Reminder"),
    "col_addresses": N_("Addresses"),
    "col_reply": N_("Reply"),
    "col_change": N_("Change"),
    "digest_footer": N_("Sent by staywatch (%(key)s) to %(office)s."),
}


def ui(name: str, lang: str, /, **values: object) -> str:
    """A shared UI string in ``lang``, with ``values`` filled in; KeyError for unknown names."""
    message = UI[name]
    with use_locale(lang):
        return _(message, **values)


def labelled(label: str, value: str, lang: str) -> str:
    """``label: value`` with the language's colon ("Who: Wang Fang", "当事人：Wang Fang")."""
    with use_locale(lang):
        return _("%(label)s: %(value)s", label=label, value=value)


def with_id(name: str, ident: str, lang: str) -> str:
    """A name with its id in brackets: "Wang Fang (wang-fang)", "Wang Fang（wang-fang）"."""
    with use_locale(lang):
        return _("%(name)s (%(id)s)", name=name, id=ident)


def counted(title: str, count: int, lang: str) -> str:
    """A section title with its number of entries: "Overdue (2)", "已逾期（2）"."""
    with use_locale(lang):
        return _("%(title)s (%(count)s)", title=title, count=count)


def listed(first: str, following: str, lang: str) -> str:
    """Two items of a list: "Wang Fang, Period of stay", "Wang Fang，滞留期间"."""
    with use_locale(lang):
        return _("%(first)s, %(next)s", first=first, next=following)


def covered_month(what: str, covers: str, lang: str) -> str:
    """A premium and the month it pays for: "Health insurance premium (March 2027)"."""
    with use_locale(lang) as lang_:
        return pgettext(
            "the month a premium pays for",
            "%(what)s (%(month)s)",
            what=what,
            month=month_label(covers, lang_),
        )


def sentences(first: str, following: str, lang: str) -> str:
    """Two sentences one after the other (a space between them, or none in Chinese)."""
    with use_locale(lang):
        return pgettext("two sentences", "%(first)s %(next)s", first=first, next=following)


def aside(text: str, lang: str) -> str:
    """``text`` in brackets: "(The link opens ...)", "（链接会打开……）"."""
    with use_locale(lang):
        return pgettext("aside", "(%(text)s)", text=text)


def sentence(text: str, lang: str) -> str:
    """``text`` ending as a sentence ends in the language."""
    # A sentence already ends with its own stop: the Devanagari danda (।) in Nepali,
    # the Khmer khan (។, or ៕ at the end of a text), "。" in Chinese.
    if text.endswith((".", "。", "!", "?", "！", "？", "।", "។", "៕")):
        return text
    with use_locale(lang):
        return _("%(sentence)s.", sentence=text)


# -- statuses and digests ---------------------------------------------------------------

#: An occurrence's status as an office reads it: the same word on the dashboard and in
#: digests (``offices.STATUS_ORDER``).
STATUS_WORDS: dict[str, Msg] = {
    "overdue": NP_("status", "overdue"),
    "failed": NP_("status", "delivery failed"),
    "pending": NP_("status", "not reminded yet"),
    "sent": NP_("status", "reminded"),
    "acknowledged": NP_("status", "done"),
}


def status_label(status: str, lang: str) -> str:
    """The word for an occurrence status; an unknown status as it is."""
    message = STATUS_WORDS.get(status)
    if message is None:
        return status
    with use_locale(lang):
        return pgettext(*message)


def next_days(days: int, lang: str) -> str:
    """A period ahead: "the next 60 days"."""
    with use_locale(lang):
        return ngettext("the next %(num)d day", "the next %(num)d days", days)


def digest_counts(overdue: int, upcoming: int, days: int, failed: int, lang: str) -> str:
    """The counts of a digest subject: "2 overdue, 5 due in the next 60 days".

    Undeliverable reminders are counted only when there are some.
    """
    with use_locale(lang) as lang_:
        parts = [
            ngettext("%(num)d overdue", "%(num)d overdue", overdue),
            ngettext(
                "%(num)d due in %(period)s",
                "%(num)d due in %(period)s",
                upcoming,
                period=next_days(days, lang_),
            ),
        ]
        if failed:
            parts.append(ngettext("%(num)d failed delivery", "%(num)d failed deliveries", failed))
        joined = parts[0]
        for part in parts[1:]:
            joined = _("%(first)s, %(next)s", first=joined, next=part)
        return joined


class ChangeSummary(Protocol):
    """What a config reload changed (``offices.ConfigChangeRecord``), for :func:`change_line`."""

    @property
    def people_added(self) -> Sequence[str]: ...

    @property
    def people_removed(self) -> Sequence[str]: ...

    @property
    def people_changed(self) -> Sequence[str]: ...

    @property
    def deadlines_added(self) -> Sequence[str]: ...

    @property
    def deadlines_removed(self) -> Sequence[str]: ...

    @property
    def deadlines_changed(self) -> Sequence[str]: ...

    @property
    def service_changed(self) -> bool: ...


#: Ids shown in a change line before the rest are counted.
CHANGE_IDS_SHOWN = 5


def _ids(items: Sequence[str]) -> str:
    shown = ", ".join(items[:CHANGE_IDS_SHOWN])
    rest = len(items) - CHANGE_IDS_SHOWN
    if rest > 0:
        shown = ngettext("%(ids)s and %(num)d more", "%(ids)s and %(num)d more", rest, ids=shown)
    return shown


def _change_parts(change: ChangeSummary) -> list[str]:
    parts: list[str] = []
    if items := change.people_added:
        parts.append(
            ngettext(
                "%(num)d person added (%(ids)s)",
                "%(num)d people added (%(ids)s)",
                len(items),
                ids=_ids(items),
            )
        )
    if items := change.people_removed:
        parts.append(
            ngettext(
                "%(num)d person removed (%(ids)s)",
                "%(num)d people removed (%(ids)s)",
                len(items),
                ids=_ids(items),
            )
        )
    if items := change.people_changed:
        parts.append(
            ngettext(
                "%(num)d person changed (%(ids)s)",
                "%(num)d people changed (%(ids)s)",
                len(items),
                ids=_ids(items),
            )
        )
    if items := change.deadlines_added:
        parts.append(
            ngettext(
                "%(num)d deadline added (%(ids)s)",
                "%(num)d deadlines added (%(ids)s)",
                len(items),
                ids=_ids(items),
            )
        )
    if items := change.deadlines_removed:
        parts.append(
            ngettext(
                "%(num)d deadline removed (%(ids)s)",
                "%(num)d deadlines removed (%(ids)s)",
                len(items),
                ids=_ids(items),
            )
        )
    if items := change.deadlines_changed:
        parts.append(
            ngettext(
                "%(num)d deadline changed (%(ids)s)",
                "%(num)d deadlines changed (%(ids)s)",
                len(items),
                ids=_ids(items),
            )
        )
    if change.service_changed:
        parts.append(_("service settings changed: everyone re-planned"))
    return parts


def change_line(change: ChangeSummary | str, lang: str) -> str:
    """A config change for a digest: "2 people added (ana, bo); 1 deadline changed (...)".

    A summary recorded as text (by an older version) is shown as it was written.
    """
    if isinstance(change, str):
        return change
    with use_locale(lang):
        parts = _change_parts(change)
        if not parts:
            return _("no change")
        joined = parts[0]
        for part in parts[1:]:
            joined = _("%(first)s; %(next)s", first=joined, next=part)
        return joined
