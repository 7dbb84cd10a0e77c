"""Overdue steps, escalated to the responsible official and the head of their department: one
notice per step and person, ever (the reminders' key)."""
from datetime import date

from flask import url_for
from flask_babel import lazy_gettext as _l

from app.i18n import day
from app.notifications.registry import Reminder, register_event, register_reminder

from . import deadlines

register_event("accountability.step_overdue", label=_l("A step you answer for is overdue"),
               sentence=_l("“%(title)s”: %(step)s was due on %(due_on)s."),
               params=lambda event: {"title": event.context["title"],
                                     "step": str(deadlines.STEP_LABELS[event.context["step"]]),
                                     "due_on": day(date.fromisoformat(event.context["due_on"]))},
               link=lambda event: url_for("accountability.overdue"), default_mode="immediate")


@register_reminder
def overdue_steps(today):
    for step in deadlines.overdue(today):
        for user_id in step.responsible:
            yield Reminder(kind="accountability.step_overdue", subject_type="accountability_step", subject_id=0,
                           recipients=[user_id], key=f"accountability.overdue:{step.key}:{user_id}",
                           context={"title": step.title, "step": step.step, "due_on": step.due_on.isoformat()})
