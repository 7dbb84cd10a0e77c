from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.forms import LocalDecimalField, MultiCheckboxField, Range, Required

from .models import CLAUSES, RESOURCES, CommonsKind, Intervention, ProposerKind, Track


def _choices(enum):
    return lambda: [(item.value, item.label) for item in enum]


class ProposalForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    intervention = SelectField(_l("Kind of intervention"), choices=_choices(Intervention))
    track = RadioField(_l("Track"), choices=_choices(Track), default=Track.ORDINARY.value)
    standard_form = SelectField(_l("Standard form (ordinary pacts)"), coerce=str, choices=[], validate_choice=False,
                                description=_l("The city's standard forms for simple, repeatable interventions."))
    commons = MultiCheckboxField(_l("Commons concerned"), coerce=int, choices=[])
    new_commons_name = StringField(_l("Or propose a commons not yet in the register"),
                                   validators=[Optional(), Length(max=200)])
    new_commons_place = StringField(_l("Where it is"), validators=[Optional(), Length(max=300)])
    what = TextAreaField(_l("What you propose to do"), validators=[DataRequired(), Length(max=5000)])
    why = TextAreaField(_l("Why"), validators=[Optional(), Length(max=5000)])
    participants = TextAreaField(_l("Who takes part"), validators=[Optional(), Length(max=2000)])
    resources = MultiCheckboxField(_l("What you ask of the city"),
                                   choices=lambda: [(k, v) for k, v in RESOURCES.items()])
    resources_note = TextAreaField(_l("Details of what you ask"), validators=[Optional(), Length(max=2000)])
    duration_months = IntegerField(_l("Expected duration, in months"), default=12,
                                   validators=[Required(), Range(min=1, max=120)])
    report_every_months = IntegerField(_l("A report every … months"), default=6,
                                       validators=[Required(), Range(min=1, max=120)])
    proposer_kind = SelectField(_l("Who proposes"), choices=_choices(ProposerKind))
    group_name = StringField(_l("Name of the group"), validators=[Optional(), Length(max=200)])
    organisation = SelectField(_l("Organisation"), coerce=str, choices=[], validate_choice=False)
    publish_name = BooleanField(_l("Publish my name with the proposal"), default=False, description=_l(
        "If you propose alone: without this, the register, the open data and the pact's documents say "
        "“a resident of” the neighbourhood instead of your name. A group's or an organisation's name is "
        "always public."))


def clauses_form(prefill: dict | None = None, **kwargs) -> FlaskForm:
    """A form with one text box per required clause."""
    class ClausesForm(FlaskForm):
        note = StringField(_l("What changed in this version"), validators=[Optional(), Length(max=300)])

    for key, label in CLAUSES.items():
        setattr(ClausesForm, f"clause_{key}", TextAreaField(label, validators=[Optional(), Length(max=10000)]))
    form = ClausesForm(**kwargs)
    if prefill is not None and not form.is_submitted():
        for key in CLAUSES:
            getattr(form, f"clause_{key}").data = prefill.get(key, "")
    return form


def clauses_of(form) -> dict:
    return {key: getattr(form, f"clause_{key}").data or "" for key in CLAUSES}


class StandardFormForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    intervention = SelectField(_l("Kind of intervention"), choices=_choices(Intervention))
    active = BooleanField(_l("Offered to citizens"), default=True)


def standard_form_form(prefill: dict | None = None, **kwargs):
    class Form(StandardFormForm):
        pass

    for key, label in CLAUSES.items():
        setattr(Form, f"clause_{key}", TextAreaField(label, validators=[Optional(), Length(max=10000)]))
    form = Form(**kwargs)
    if prefill is not None and not form.is_submitted():
        for key in CLAUSES:
            getattr(form, f"clause_{key}").data = prefill.get(key, "")
    return form


class CommonsForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=_choices(CommonsKind))
    place = TextAreaField(_l("Address or description of the place"), validators=[Optional(), Length(max=2000)])
    neighbourhood = StringField(_l("Neighbourhood"), validators=[Optional(), Length(max=120)])
    latitude = LocalDecimalField(_l("Latitude"), places=6, validators=[Optional(), Range(min=-90, max=90)])
    longitude = LocalDecimalField(_l("Longitude"), places=6, validators=[Optional(), Range(min=-180, max=180)])
    department = StringField(_l("Owner department"), validators=[Optional(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])


class UploadForm(FlaskForm):
    title = StringField(_l("Title"), validators=[Optional(), Length(max=200)])
    file = FileField(_l("Photo or document (JPEG, PNG or PDF)"))


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)])


class CommentForm(FlaskForm):
    body = TextAreaField(_l("Your comment"), validators=[DataRequired(_l("Write your comment.")), Length(max=5000)])


class SignForm(FlaskForm):
    party = HiddenField()
    version = HiddenField()


class ReportForm(FlaskForm):
    due_on = SelectField(_l("Report due on"), choices=[])
    activities = TextAreaField(_l("Activities done"), validators=[DataRequired(), Length(max=10000)])
    volunteer_hours = LocalDecimalField(_l("Volunteer hours"), places=1, default=0,
                                   validators=[Optional(), Range(min=0, max=100000)])
    resources_used = TextAreaField(_l("Resources used"), validators=[Optional(), Length(max=5000)])
    results = TextAreaField(_l("Results"), validators=[Optional(), Length(max=5000)])
    photo = FileField(_l("A photo (optional)"))


class DisputeForm(FlaskForm):
    subject = TextAreaField(_l("What the dispute is about"),
                            validators=[DataRequired(_l("Say what the dispute is about.")), Length(max=5000)])


class CommitteeForm(FlaskForm):
    citizens_member = StringField(_l("Member named by the citizens"), validators=[Optional(), Length(max=200)])
    city_member = StringField(_l("Member named by the city"), validators=[Optional(), Length(max=200)])
    joint_member = StringField(_l("Member named by both"), validators=[Optional(), Length(max=200)])


class OutcomeForm(FlaskForm):
    outcome = TextAreaField(_l("Outcome of the conciliation"), validators=[Optional(), Length(max=5000)])
