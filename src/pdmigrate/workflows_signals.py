"""The signals of each system's data that imply an automation to rebuild (data, not code).

A :class:`Signal` says what to look for in one source object: each distinct value of a
column (``distinct``) or the records whose status implies a follow-up (``status``).
:data:`SIGNALS` lists them per system; :mod:`pdmigrate.workflows_infer` counts rows
against them and turns the counts into rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["SIGNALS", "Signal", "SignalKind"]

SignalKind = Literal["distinct", "status"]


@dataclass(frozen=True)
class Signal:
    """One thing in a system's data that implies an automation to rebuild.

    ``where`` / ``exclude`` filter rows by column value (case-insensitive); ``blank``
    requires empty columns; ``age`` = (date column, days) keeps rows whose date is at
    least that many days before ``as_of``. ``distinct`` signals make one rule per value
    of ``column`` (paired with ``by`` when given); ``status`` signals make one rule
    counting rows, or distinct ``group_by`` keys. Texts may use ``{value}`` / ``{by}``.
    """

    id: str
    object: str
    kind: SignalKind
    name: str
    rule_kind: str
    trigger: str
    actions: tuple[str, ...]
    timing: str
    tool: str
    recipe: str
    column: str | None = None
    by: str | None = None
    where: Mapping[str, frozenset[str]] = field(default_factory=dict)
    exclude: Mapping[str, frozenset[str]] = field(default_factory=dict)
    blank: tuple[str, ...] = ()
    age: tuple[str, int] | None = None
    group_by: tuple[str, ...] = ()
    refines: str | None = None
    channel: tuple[str, ...] = ()


def _set(*values: str) -> frozenset[str]:
    return frozenset(v.casefold() for v in values)


SIGNALS: dict[str, tuple[Signal, ...]] = {
    "advancedpm": (
        Signal(
            id="claims_submitted_30d",
            object="claims",
            kind="status",
            name="Follow-up of claims submitted over 30 days ago",
            rule_kind="follow_up",
            trigger="Claim Status is Submitted, Accepted or Pending and Submitted Date is "
            "30 or more days ago",
            actions=("Create a call task for the claim's owner to chase the payer",),
            timing="30 days after Submitted Date",
            tool="automation",
            recipe='Automation "deal in pipeline Claims, stage Submitted/Accepted/Pending, '
            'Source Created Date 30 days ago -> create call activity for the deal owner"',
            where={"Claim Status": _set("Submitted", "Accepted", "Pending")},
            age=("Submitted Date", 30),
            group_by=("Claim Number",),
            refines="claim_follow_up",
            channel=("phone",),
        ),
        Signal(
            id="claims_denied",
            object="claims",
            kind="status",
            name="Denied or rejected claims to correct and resubmit",
            rule_kind="follow_up",
            trigger="Claim Status is Denied or Rejected",
            actions=("Create a task to correct and resubmit, or appeal",),
            timing="Same day",
            tool="automation",
            recipe='Automation "deal enters stage Denied/Rejected/Appealed (pipeline Claims) '
            '-> create task for the deal owner"',
            where={"Claim Status": _set("Denied", "Rejected")},
            group_by=("Claim Number",),
        ),
        Signal(
            id="unconfirmed_appointments",
            object="appointments",
            kind="status",
            name="Scheduled appointments not yet confirmed",
            rule_kind="confirmation",
            trigger="Status is Scheduled and Confirmation is not Confirmed",
            actions=("Ask the patient to confirm",),
            timing="2 days before the appointment",
            tool="automation",
            recipe='Automation "deal in stage Scheduled (pipeline Appointments), appointment '
            'activity due in 2 days -> create call activity"',
            where={"Status": _set("Scheduled")},
            exclude={"Confirmation": _set("Confirmed")},
            refines="appointment_confirmation",
            channel=("sms", "phone"),
        ),
        Signal(
            id="no_show_rebook",
            object="appointments",
            kind="status",
            name="Rebook after a no-show",
            rule_kind="follow_up",
            trigger="Status is No Show",
            actions=("Call the patient to rebook",),
            timing="Same day",
            tool="automation",
            recipe='Automation "deal lost with reason No Show (pipeline Appointments) '
            '-> create call activity"',
            where={"Status": _set("No Show")},
            channel=("phone",),
        ),
        Signal(
            id="annual_recall_due",
            object="patients",
            kind="status",
            name="Active patients past their 12-month recall",
            rule_kind="recall",
            trigger="Status is Active and Last Visit Date is 365 or more days ago",
            actions=("Invite the patient to book",),
            timing="12 months after the last visit",
            tool="automation",
            recipe='Automation "person field Last Visit Date 365 days ago -> create task '
            "'Recall' for the owner\" (or a Campaigns segment on Last Visit Date)",
            where={"Status": _set("Active")},
            age=("Last Visit Date", 365),
            refines="recall_reminders",
            channel=("email", "letter"),
        ),
    ),
    "corepractice": (
        Signal(
            id="sms_opt_in_reminders",
            object="patients",
            kind="status",
            name="Patients who receive SMS reminders",
            rule_kind="reminder",
            trigger="SMS Opt-in is Y",
            actions=("Send the appointment reminder by SMS",),
            timing="1-2 days before the appointment",
            tool="automation",
            recipe='Automation "activity (type Appointment) due in 2 days, person SMS Opt-in = '
            'Yes -> send SMS through an SMS integration"',
            where={"SMS Opt-in": _set("Y", "Yes")},
            refines="appointment_reminder_sms",
            channel=("sms",),
        ),
        Signal(
            id="booked_unconfirmed",
            object="appointments",
            kind="status",
            name="Booked appointments awaiting confirmation",
            rule_kind="confirmation",
            trigger="Status is Booked",
            actions=("Ask the patient to confirm",),
            timing="2 days before",
            tool="automation",
            recipe='Automation "activity (type Appointment) due in 2 days and subject has no '
            "'Confirmed' -> send confirmation request\"",
            where={"Status": _set("Booked")},
            refines="sms_confirmation",
            channel=("sms",),
        ),
        Signal(
            id="online_bookings",
            object="appointments",
            kind="status",
            name="Online bookings that get a confirmation email",
            rule_kind="confirmation",
            trigger="Booked Online is Y",
            actions=("Email the booking confirmation",),
            timing="Immediately",
            tool="scheduler",
            recipe="Scheduler (Pipedrive meeting scheduler) confirmation email",
            where={"Booked Online": _set("Y", "Yes")},
            refines="online_booking_confirmation",
            channel=("email",),
        ),
        Signal(
            id="recall_due_6m",
            object="patients",
            kind="status",
            name="Active patients due a 6-month recall with nothing booked",
            rule_kind="recall",
            trigger="Status is Active, Last Visit is 182 or more days ago and Next Appointment "
            "is empty",
            actions=("Send recall, then reminders until booked",),
            timing="6 months after the last visit",
            tool="sequence",
            recipe='Sequence on the person: task "Recall" at day 0, email at 14 days, call at '
            "28 days",
            where={"Status": _set("Active")},
            blank=("Next Appointment",),
            age=("Last Visit", 182),
            refines="recall_sequence",
            channel=("sms", "email"),
        ),
        Signal(
            id="proposed_plans_14d",
            object="treatment_plans",
            kind="status",
            name="Treatment plans proposed 14 or more days ago",
            rule_kind="follow_up",
            trigger="Plan Status is Proposed and Created is 14 or more days ago",
            actions=("Call the patient about the proposed plan",),
            timing="14 days after Created",
            tool="automation",
            recipe='Automation "deal in stage Proposed (pipeline Treatment Plans), Source '
            'Created Date 14 days ago -> create call activity"',
            where={"Plan Status": _set("Proposed")},
            age=("Created", 14),
            group_by=("Plan ID",),
            refines="treatment_plan_follow_up",
            channel=("phone",),
        ),
        Signal(
            id="fta_rebook",
            object="appointments",
            kind="status",
            name="Rebook after a failed-to-attend appointment",
            rule_kind="follow_up",
            trigger="Status is Did Not Attend or FTA",
            actions=("Call the patient to rebook",),
            timing="Same day",
            tool="automation",
            recipe="Automation \"activity subject starts with 'Did Not Attend' or 'FTA' "
            '-> create call activity"',
            where={"Status": _set("Did Not Attend", "FTA")},
            channel=("phone",),
        ),
    ),
    "practicebynumbers": (
        Signal(
            id="recall_interval",
            object="recalls",
            kind="distinct",
            column="Interval",
            by="Recall Type",
            name="{by} recall every {value}",
            rule_kind="recall",
            trigger="A {by} recall falls due (interval {value})",
            actions=("Send recall messages", "Create a call task when overdue"),
            timing="Every {value}; 2 weeks before due, on the due date, 30 days overdue",
            tool="automation",
            recipe="Automation \"activity 'Recall: {by}' marked done -> create activity "
            "'Recall: {by}' due in {value}\"",
            exclude={"Status": _set("Inactive")},
            refines="recall_sequence",
            channel=("sms", "email", "phone"),
        ),
        Signal(
            id="overdue_recalls",
            object="recalls",
            kind="status",
            name="Overdue recalls to call",
            rule_kind="follow_up",
            trigger="Recall Status is Overdue",
            actions=("Create a call task for the patient",),
            timing="30 days after the due date",
            tool="automation",
            recipe="Automation \"activity 'Recall: …' overdue by 30 days -> create call activity\"",
            where={"Status": _set("Overdue")},
            channel=("phone",),
        ),
        Signal(
            id="unconfirmed_appointments",
            object="appointments",
            kind="status",
            name="Scheduled appointments not yet confirmed",
            rule_kind="reminder",
            trigger="Status is Scheduled and Confirmation is not Confirmed",
            actions=("Send reminders at 7 days, 2 days and 2 hours",),
            timing="7 days, 2 days and 2 hours before",
            tool="automation",
            recipe='Automation "activity (meeting) due in 7 days -> send email", with delays '
            "for the 2-day and 2-hour reminders",
            where={"Status": _set("Scheduled")},
            exclude={"Confirmation": _set("Confirmed")},
            refines="appointment_reminders",
            channel=("sms", "email"),
        ),
        Signal(
            id="broken_appointments",
            object="appointments",
            kind="status",
            name="Broken appointments to reschedule",
            rule_kind="follow_up",
            trigger="Status is Broken",
            actions=("Call to reschedule",),
            timing="Same day",
            tool="automation",
            recipe="Automation \"activity subject starts with 'No-show:' -> create call activity\"",
            where={"Status": _set("Broken")},
            refines="broken_appointment_follow_up",
            channel=("phone", "sms"),
        ),
        Signal(
            id="unaccepted_treatment",
            object="treatment_plans",
            kind="status",
            name="Presented treatment not yet accepted",
            rule_kind="follow_up",
            trigger="Accepted is N and the plan has been presented",
            actions=("Call the patient about the presented treatment",),
            timing="7 and 30 days after Date Presented",
            tool="automation",
            recipe='Automation "deal in stage Presented for 7 days -> create call activity"',
            where={"Accepted": _set("N")},
            age=("Date Presented", 0),
            group_by=("Practice", "Patient ID", "Date Presented"),
            refines="unscheduled_treatment",
            channel=("phone", "email"),
        ),
        Signal(
            id="review_sources",
            object="reviews",
            kind="distinct",
            column="Source",
            name="Review requests for {value}",
            rule_kind="review_request",
            trigger="Appointment completed; ask for a review on {value}",
            actions=("Send a review link for {value}",),
            timing="2 hours after the visit",
            tool="automation",
            recipe='Automation "activity marked done -> send email with the {value} review link"',
            refines="review_requests",
            channel=("sms", "email"),
        ),
    ),
    "practicemaster": (
        Signal(
            id="calendar_reminder",
            object="cmcalendar",
            kind="distinct",
            column="Reminder",
            name="Calendar reminder {value} before",
            rule_kind="reminder",
            trigger="A calendar record has Reminder = {value}",
            actions=("Notify the assigned users {value} before the event",),
            timing="{value} before Date",
            tool="automation",
            recipe='Automation "activity due in {value} -> send email to the activity owner" '
            "(or each user's activity reminder setting)",
            refines="calendar_reminders",
            channel=("in_app", "email"),
        ),
        Signal(
            id="recurring_plan",
            object="cmcalendar",
            kind="distinct",
            column="Plan/Recurring",
            name="{value} recurring calendar plan",
            rule_kind="recurring",
            trigger="A calendar plan repeats {value}",
            actions=("Create the next occurrence when one is done",),
            timing="{value}",
            tool="automation",
            recipe='Automation "activity marked done -> create the same activity due {value} '
            'later" (the next occurrence is migrated as one open task)',
            refines="recurring_plans",
            channel=("in_app",),
        ),
        Signal(
            id="court_dates",
            object="cmcalendar",
            kind="status",
            name="Court dates that start a deadline chain",
            rule_kind="follow_up",
            trigger="Type is Court date",
            actions=("Create preparation deadlines for the responsible attorney",),
            timing="Deadlines counted back from the court date",
            tool="sequence",
            recipe="Sequence on the matter deal: preparation tasks at fixed offsets before the "
            "court date",
            where={"Type": _set("Court date")},
            refines="court_deadline_chain",
            channel=("in_app",),
        ),
        Signal(
            id="unbilled_fees",
            object="cmfees",
            kind="status",
            name="Matters with unbilled billable fees",
            rule_kind="billing",
            trigger="Billing Status is Billable and Billed is N",
            actions=("Bill the matter at month end",),
            timing="Monthly",
            tool="automation",
            recipe='Automation "monthly date trigger on open Matters deals -> create task '
            "'Bill unbilled fees'\"",
            where={"Billing Status": _set("Billable"), "Billed": _set("N")},
            group_by=("Client ID",),
            refines="billing_cycle",
            channel=("letter", "email"),
        ),
    ),
    "visualpractice": (
        Signal(
            id="service_reminder",
            object="appointments",
            kind="distinct",
            column="Service",
            name="Reminder for {value}",
            rule_kind="reminder",
            trigger="An appointment for {value} is booked",
            actions=("Send the {value} reminder template",),
            timing="24-48 hours before",
            tool="automation",
            recipe="Automation \"activity due in 1 day, subject starts with '{value}' -> send "
            "email template '{value}'\"",
            refines="appointment_reminders",
            channel=("sms", "email"),
        ),
        Signal(
            id="overdue_invoices",
            object="invoices",
            kind="status",
            name="Overdue invoices to chase",
            rule_kind="billing",
            trigger="Invoice Status is Overdue",
            actions=("Send payment reminders at 7, 14 and 30 days",),
            timing="7, 14 and 30 days after Due Date",
            tool="automation",
            recipe='Automation "deal enters stage Overdue (pipeline Billing) -> send email; '
            'delay 7 days -> send email; delay 16 days -> create task"',
            where={"Status": _set("Overdue")},
            group_by=("Invoice No",),
            refines="invoice_chaser",
            channel=("email",),
        ),
        Signal(
            id="no_show_rebook",
            object="appointments",
            kind="status",
            name="Rebook after a no-show",
            rule_kind="follow_up",
            trigger="Status is No-show",
            actions=("Call the client to rebook",),
            timing="Same day",
            tool="automation",
            recipe="Automation \"activity subject starts with 'No-show:' -> create call activity\"",
            where={"Status": _set("No-show")},
            refines="rebook_follow_up",
            channel=("phone", "sms"),
        ),
        Signal(
            id="attended_feedback",
            object="appointments",
            kind="status",
            name="Attended appointments that get a feedback request",
            rule_kind="review_request",
            trigger="Status is Attended",
            actions=("Send a feedback survey link",),
            timing="1 day after",
            tool="automation",
            recipe='Automation "activity marked done -> delay 1 day -> send email with the '
            'survey link"',
            where={"Status": _set("Attended")},
            refines="review_request",
            channel=("email",),
        ),
    ),
}
