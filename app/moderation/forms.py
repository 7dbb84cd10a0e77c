from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from .decisions import MAX_APPEAL, MAX_REASON
from .models import ReportReason
from .reports import MAX_DETAILS


class ReportForm(FlaskForm):
    reason = RadioField(_l("Why do you report it?"), validate_choice=False,
                        choices=lambda: [(r.value, r.label) for r in ReportReason])
    details = TextAreaField(_l("What is wrong with it (optional, unless you chose “something else”)"),
                            validators=[Optional(), Length(max=MAX_DETAILS)],
                            description=_l("Moderators read it; nobody else does, and nobody sees who reported."))


class HideForm(FlaskForm):
    reason = StringField(_l("Public reason for hiding it"), validators=[Optional(), Length(max=MAX_REASON)],
                         description=_l("Shown in place of the text, to its author and in the public log."))


class RestoreForm(FlaskForm):
    note = StringField(_l("Public note (optional)"), validators=[Optional(), Length(max=MAX_REASON)],
                       description=_l("Shown in the public log when a hidden text is restored."))


class AppealForm(FlaskForm):
    text = TextAreaField(_l("Why should it be shown again?"), validators=[Optional(), Length(max=MAX_APPEAL)],
                         description=_l("A moderator other than the one who hid it reads your appeal and decides."))


def redaction_form(texts: dict, **kwargs) -> FlaskForm:
    """One box per text of the item (prefilled with it), and the public reason. The boxes are
    named text_0, text_1… in the order of `texts`; `redaction_of(form, texts)` reads them back."""
    class RedactionForm(FlaskForm):
        reason = StringField(_l("Public reason"), validators=[Optional(), Length(max=MAX_REASON)],
                             description=_l("Shown in the public log, for example: “A phone number was removed.”"))

    for n, (_key, (label, _text)) in enumerate(texts.items()):
        setattr(RedactionForm, f"text_{n}", TextAreaField(label, validators=[Optional()]))
    form = RedactionForm(**kwargs)
    if not form.is_submitted():
        for n, (_label, text) in enumerate(texts.values()):
            getattr(form, f"text_{n}").data = text
    return form


def redaction_of(form, texts: dict) -> dict:
    return {key: getattr(form, f"text_{n}").data or "" for n, key in enumerate(texts)}


def field_of(texts: dict, key: str | None) -> str | None:
    """The form field showing the text `key` (a refusal about it goes there)."""
    return f"text_{list(texts).index(key)}" if key in texts else key
