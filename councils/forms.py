from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional

from app.config import LOCALES
from app.forms import DateField, DateTimeLocalField, MultiCheckboxField, Range, Required
from app.i18n import LANGUAGE_NAMES

from .elections import MAX_STATEMENT
from .models import HAND_OPTIONS, ChairRole, CountingRule, Jurisdiction, Side, TieRule, VoteOption, VoteRule
from .motions import MAX_NEED_RANK, ShowOfHands


def _choices(enum):
    return lambda: [(item.value, item.label) for item in enum]


class CouncilForm(FlaskForm):
    slug = StringField(_l("Short name"), validators=[DataRequired(), Length(max=80)],
                       description=_l("Lower-case letters, digits and dashes; it becomes part of the address."))
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    jurisdiction = SelectField(_l("Jurisdiction"), choices=_choices(Jurisdiction))
    area = StringField(_l("District or neighbourhood"), validators=[Optional(), Length(max=120)],
                       description=_l("Leave empty for a council of the whole city."))
    mandate = TextAreaField(_l("Mandate"), validators=[Optional(), Length(max=5000)],
                            description=_l("What the council is asked to decide."))
    seats_per_side = IntegerField(_l("Seats per side"), validators=[Required(), Range(min=1, max=50)],
                                  description=_l("Local government and civil society always have the same "
                                                 "number of seats."))
    term_months = IntegerField(_l("Term length in months"), default=24,
                               validators=[Required(), Range(min=1, max=120)])
    first_term_start = DateField(_l("First term starts on"), validators=[Required()],
                                 description=_l("It may be in the past, for a council that already exists."))
    first_chair_side = SelectField(_l("Side of the Chair in the first term"), choices=_choices(Side),
                                   description=_l("The Chair then alternates side every term."))
    locale = SelectField(_l("Language of meetings and documents"),
                         choices=[(code, LANGUAGE_NAMES[code]) for code in LOCALES])
    vote_rule = SelectField(_l("How motions pass"), choices=_choices(VoteRule))
    tie_rule = SelectField(_l("Ties"), choices=_choices(TieRule))
    counting_rule = SelectField(_l("Civil selection ballots"), choices=_choices(CountingRule))
    quorum_per_side = IntegerField(_l("Members of each side needed for quorum"), default=1,
                                   validators=[Required(), Range(min=1, max=50)])
    quorum_majority = BooleanField(_l("Quorum also needs a majority of all seats"), default=True)
    hand_votes_named = BooleanField(_l("A show of hands records each member's vote by name"), default=False,
                                    description=_l("Otherwise the Chair records how many hands each side raised."))
    warn_days = IntegerField(_l("Warn officials this many days before a term ends"), default=60,
                             validators=[Required(), Range(min=0, max=365)])

    def values(self) -> dict:
        return {f.name: f.data for f in self if f.name not in ("csrf_token", "slug")}


class SeatForm(FlaskForm):
    email = EmailField(_l("Email of the member's account"), validators=[DataRequired(), Email()])
    side = SelectField(_l("Side"), choices=_choices(Side))
    on = DateField(_l("Seated from"), validators=[Required()])
    organisation = SelectField(_l("Represents"), choices=[], validators=[Optional()])


class EndMandateForm(FlaskForm):
    on = DateField(_l("Leaves the seat on"), validators=[Required()],
                   description=_l("The first day the seat is no longer held."))
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=200)])
    email = EmailField(_l("Replacement's email (optional)"), validators=[Optional(), Email()],
                       description=_l("Leave empty to leave the seat vacant."))


class AppointForm(FlaskForm):
    role = SelectField(_l("Office"), choices=_choices(ChairRole))
    mandate = SelectField(_l("Member"), choices=[], coerce=int)
    on = DateField(_l("From"), validators=[Required()])


class StepDownForm(FlaskForm):
    on = DateField(_l("Steps down on"), validators=[Required()])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=200)])


class MeetingForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    starts_at = DateTimeLocalField(_l("Starts at"), format="%Y-%m-%dT%H:%M", validators=[Required()])
    duration_minutes = IntegerField(_l("Duration in minutes"), default=120,
                                    validators=[Required(), Range(min=1, max=1440)])
    location = StringField(_l("Place"), validators=[Optional(), Length(max=300)])
    locale = SelectField(_l("Language of the meeting"), choices=[(code, LANGUAGE_NAMES[code]) for code in LOCALES])
    agenda = TextAreaField(_l("Agenda"), validators=[Optional(), Length(max=5000)],
                           description=_l("One item per line."))


class AgendaItemForm(FlaskForm):
    title = StringField(_l("Agenda item"), validators=[DataRequired(), Length(max=300)])


class AttendanceForm(FlaskForm):
    present = MultiCheckboxField(_l("Present"), choices=[], coerce=int)


class ShowOfHandsForm(FlaskForm):
    confirm = BooleanField(_l("Count anyone present left uncounted as abstaining"))


HAND_LABELS = {"yes": _l("Hands for yes, %(side)s"), "no": _l("Hands for no, %(side)s"),
               "abstain": _l("Hands abstaining, %(side)s")}


def show_of_hands_form(unvoted, named: bool, formdata=None) -> ShowOfHandsForm:
    """A show of hands for the members present who have not voted (`motions.unvoted`): a vote for
    each by name where the council's rules want names, else the hands counted on each side."""
    class Form(ShowOfHandsForm):
        pass
    if named:
        for mandate in unvoted:
            setattr(Form, f"m{mandate.id}", SelectField(
                f"{mandate.user.name} ({mandate.side_enum.label})", validators=[Optional()],
                choices=[("", _l("Not recorded"))] + [(o, VoteOption(o).label) for o in HAND_OPTIONS]))
    else:
        for side in Side:
            if any(m.side == side.value for m in unvoted):
                for option in HAND_OPTIONS:
                    setattr(Form, f"{side.value}_{option}", IntegerField(
                        HAND_LABELS[option] % {"side": side.label}, default=0,
                        validators=[Optional(), Range(min=0, max=1000)]))
    return Form(formdata=formdata) if formdata is not None else Form()


def show_of_hands(form: ShowOfHandsForm, unvoted) -> ShowOfHands:
    """The show of hands a validated `show_of_hands_form` records."""
    names = {m.id: form[f"m{m.id}"].data for m in unvoted if f"m{m.id}" in form}
    counts = {side.value: {o: form[f"{side.value}_{o}"].data or 0 for o in HAND_OPTIONS}
              for side in Side if f"{side.value}_yes" in form}
    return ShowOfHands(counts=counts, names=names)


class MotionForm(FlaskForm):
    title = StringField(_l("Motion"), validators=[DataRequired(), Length(max=300)])
    text = TextAreaField(_l("Text"), validators=[Optional(), Length(max=5000)])
    agenda_item = SelectField(_l("Agenda item"), choices=[], coerce=int)
    need_category = SelectField(_l("Priority need for the service"), choices=[],
                                description=_l("Choose a service if the motion adopts a priority need."))
    need_neighbourhood = StringField(_l("Neighbourhood of the need"), validators=[Optional(), Length(max=120)])
    need_rank = IntegerField(_l("Rank (1 is the most urgent)"),
                             validators=[Optional(), Range(min=1, max=MAX_NEED_RANK)])
    need_rationale = TextAreaField(_l("Rationale"), validators=[Optional(), Length(max=5000)])


class MinutesForm(FlaskForm):
    minutes = TextAreaField(_l("Minutes"), validators=[Optional(), Length(max=50000)])
    close = BooleanField(_l("Close the meeting"))


class ElectionForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    seats = IntegerField(_l("Civil seats to fill"), validators=[Required(), Range(min=1)])
    counting_rule = SelectField(_l("How ballots count"), choices=_choices(CountingRule))


class NominationForm(FlaskForm):
    organisation = SelectField(_l("Nominating organisation"), choices=[], coerce=int)
    email = EmailField(_l("Candidate's account email"), validators=[DataRequired(), Email()])
    statement = TextAreaField(_l("Statement"), validators=[Optional(), Length(max=MAX_STATEMENT)])


class BallotForm(FlaskForm):
    organisation = SelectField(_l("Voting for"), choices=[], coerce=int)
    candidates = MultiCheckboxField(_l("Candidates"), choices=[], coerce=int)


class PublishForm(FlaskForm):
    seat_from = DateField(_l("Elected members take their seats on"), validators=[Required()])
