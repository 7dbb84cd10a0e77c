from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.forms import DateField, Range, Required

from .models import LinkKind


class ProgressForm(FlaskForm):
    status = SelectField(_l("Status"), choices=[])
    progress = IntegerField(_l("Progress (percent)"), validators=[Required(), Range(min=0, max=100)])
    justification = TextAreaField(_l("Justification"), validators=[DataRequired(), Length(max=5000)],
                                  description=_l("Why the progress is set by hand: what was checked, and where."))


class EntryForm(FlaskForm):
    on = DateField(_l("Date"), validators=[Required()])
    text = TextAreaField(_l("What happened"), validators=[DataRequired(), Length(max=5000)])
    evidence_url = StringField(_l("Evidence (a link)"), validators=[Optional(), Length(max=500)],
                               description=_l("A report, a milestone, a payment or a published document."))


class LinkForm(FlaskForm):
    kind = SelectField(_l("What answers the need"),
                       choices=[(k.value, k.label) for k in (LinkKind.PROGRAMME, LinkKind.PACT)])
    target = StringField(_l("Programme short name or pact number"), validators=[DataRequired(), Length(max=120)])


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file, as the export writes it"))
    # The previewed file, sent back unchanged when the official confirms.
    content = HiddenField()
