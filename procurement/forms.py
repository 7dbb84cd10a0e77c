"""Procurement forms. Amounts are typed in the city's money and handed to operations in cents."""
from datetime import date

from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, FieldList, Form, FormField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.dates import date_range, in_range
from app.forms import DateField, MoneyField, Range, Required

from .models import CommitmentStatus, CriterionKind, Procedure
from .price_formulas import DEFAULT_FORMULA, PRICE_FORMULAS

MONEY = dict(validators=[Required(), Range(min=0, max=10**11)])


class ProcessForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("The need"), validators=[Optional(), Length(max=10000)],
                                description=_l("What the service must achieve, for whom, and where."))
    department = SelectField(_l("Procuring department"), coerce=int, choices=[])
    category = SelectField(_l("Service category"), choices=[])
    priority_need = SelectField(_l("Council priority need"), choices=[],
                                description=_l("The need adopted by a joint council that this process answers, "
                                               "if any."))
    budget = MoneyField(_l("Budget"), **MONEY)
    procedure = SelectField(_l("Procedure"), choices=lambda: [(p.value, p.label) for p in Procedure])
    allow_above_value = BooleanField(_l("Accept bids above the budget"),
                                     description=_l("Off: a bid asking for more than the budget is refused."))


class CriteriaForm(FlaskForm):
    """One weight (and an optional note) per kind of criterion; a weight of 0 leaves it out. The
    price criterion's formula is chosen from the published ones."""
    price_formula = SelectField(_l("Price formula"), default=DEFAULT_FORMULA,
                                choices=lambda: [(f.name, f.label) for f in PRICE_FORMULAS.values()],
                                description=_l("How the prices become the price score; shown to the bidders."))

    def weights(self) -> list[tuple[str, int, str, str]]:
        return [(kind.value, getattr(self, f"weight_{kind.value}").data,
                 getattr(self, f"note_{kind.value}").data or "",
                 self.price_formula.data if kind == CriterionKind.PRICE else "")
                for kind in CriterionKind if getattr(self, f"weight_{kind.value}").data]


for _kind in CriterionKind:
    setattr(CriteriaForm, f"weight_{_kind.value}",
            IntegerField(_kind.label, default=0, validators=[Optional(), Range(min=0, max=100)]))
    setattr(CriteriaForm, f"note_{_kind.value}",
            StringField(_l("How it is assessed"), validators=[Optional(), Length(max=500)]))


class PublishForm(FlaskForm):
    deadline = DateField(_l("Deadline for bids"), validators=[Required(_l("Give the deadline for bids."))])


class ExtendForm(FlaskForm):
    deadline = DateField(_l("New deadline for bids"), validators=[Required(_l("Give the new deadline."))])
    rationale = TextAreaField(_l("Reason for the extension"), validators=[DataRequired(), Length(max=2000)],
                              description=_l("Published with the amendment and sent to the bidders."))


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])


class BidForm(FlaskForm):
    organisation = SelectField(_l("Bidding organisation"), coerce=int, choices=[])
    amount = MoneyField(_l("Price offered"), **MONEY)
    summary = TextAreaField(_l("Summary of the proposal"), validators=[Optional(), Length(max=10000)])
    documents = MultipleFileField(_l("Documents (PDF)"),
                                  description=_l("The technical proposal and certificates: up to 5 PDF files of 5 MB "
                                                 "each, sealed with the offer until the deadline."))

    @property
    def uploads(self) -> list[tuple]:
        return [(f.stream, f.mimetype, f.filename) for f in (self.documents.data or [])
                if f and getattr(f, "filename", "")]

    def declared(self, declarations) -> list[str]:
        return [d.code for d in declarations if getattr(self, f"declare_{d.code}").data]


def bid_form(declarations) -> BidForm:
    """The bid form with a box for each declaration the tender requires."""
    class TenderBidForm(BidForm):
        pass
    for declaration in declarations:
        setattr(TenderBidForm, f"declare_{declaration.code}", BooleanField(declaration.text))
    return TenderBidForm()


def score_form(criteria, formdata=None):
    """A form with a 0–100 score and its justification for each criterion an evaluator scores
    (quality and social; price is computed from the prices)."""
    class ScoreForm(FlaskForm):
        pass
    for criterion in criteria:
        setattr(ScoreForm, f"score_{criterion.id}", IntegerField(
            _l("%(criterion)s (weight %(weight)s)", criterion=criterion.kind_enum.label, weight=criterion.weight),
            description=criterion.description or None, validators=[Required(), Range(min=0, max=100)]))
        setattr(ScoreForm, f"note_{criterion.id}", TextAreaField(
            _l("Justification"), validators=[DataRequired(_l("Justify the score.")), Length(max=2000)]))
    return ScoreForm(formdata=formdata) if formdata is not None else ScoreForm()


class PanelForm(FlaskForm):
    evaluator = StringField(_l("Official's email"), validators=[DataRequired(), Length(max=254)],
                            description=_l("An official's account; any department may sit on the panel."))


class AwardForm(FlaskForm):
    bid = SelectField(_l("Winning bid"), choices=[],
                      description=_l("Leave on “the top of the ranking” unless there is a tie or a reason to "
                                     "depart from it."))
    justification = TextAreaField(_l("Justification"), validators=[Optional(), Length(max=5000)],
                                  description=_l("Required for a tie or for a choice other than the top of the "
                                                 "ranking."))


def _lines(text: str, parts: int, field):
    """Parse 'YYYY-MM-DD | …' lines; a bad line is a validation error on the field."""
    rows = []
    for number, line in enumerate((text or "").splitlines(), 1):
        if not line.strip():
            continue
        pieces = [p.strip() for p in line.split("|")]
        try:
            if len(pieces) != parts:
                raise ValueError
            day = date.fromisoformat(pieces[0])
        except ValueError:
            raise ValidationError(_("Line %(number)s is not in the format shown.", number=number)) from None
        if not in_range(day):
            first, last = date_range()
            raise ValidationError(_("On line %(number)s, give a date from %(first)s to %(last)s.", number=number,
                                    first=format_date(first, "long"), last=format_date(last, "long")))
        rows.append((day, *pieces[1:]))
    return rows


class CommitmentRowForm(Form):
    """One social commitment: a criterion of the tender, what is counted, how many, by when.
    A row left on “no commitment” is ignored; the view gives the criteria as choices."""
    criterion = SelectField(_l("Social criterion"), choices=[], default="")
    description = StringField(_l("What is counted"), validators=[Optional(), Length(max=500)],
                              description=_l("e.g. people hired from the work-integration list"))
    target = IntegerField(_l("Target"), validators=[Optional(), Range(min=1, max=10**9)])
    due_on = DateField(_l("Due on"), validators=[Optional()])

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if valid and self.criterion.data:
            for box in (self.description, self.target, self.due_on):
                if box.data in (None, ""):
                    box.errors = [*box.errors, _("Required for a commitment.")]
                    valid = False
        return valid


class ContractForm(FlaskForm):
    signed_on = DateField(_l("Signed on"), validators=[Required()])
    period_start = DateField(_l("Service starts"), validators=[Required()])
    period_end = DateField(_l("Service ends"), validators=[Required()])
    value = MoneyField(_l("Contract value"), validators=[Optional(), Range(min=0, max=10**11)],
                       description=_l("Leave empty to use the awarded price."))
    value_justification = TextAreaField(
        _l("Why the value is above the award or the budget"), validators=[Optional(), Length(max=5000)],
        description=_l("Required only then; it is published and the contract is flagged."))
    # No Optional() on this one: it would stop the chain before validate_milestones,
    # leaving no rows for the view; an empty box simply parses to no rows.
    milestones = TextAreaField(_l("Milestones"), validators=[Length(max=10000)],
                               description=_l("One per line: date | title, e.g. 2026-03-01 | Service starts"))
    commitments = FieldList(FormField(CommitmentRowForm), min_entries=3, max_entries=10)

    def offer_criteria(self, criteria) -> None:
        """The rows' choices: the tender's social criteria."""
        choices = [("", _("No commitment"))] + [(c.kind, c.kind_enum.label) for c in criteria if c.kind_enum.social]
        for row in self.commitments:
            row.form.criterion.choices = choices

    def validate_milestones(self, field):
        self.milestone_rows = [(title, due) for due, title in _lines(field.data, 2, field)]

    @property
    def commitment_rows(self) -> list[tuple]:
        return [(row.criterion.data, row.description.data or "", row.due_on.data, row.target.data)
                for row in (entry.form for entry in self.commitments) if row.criterion.data]


class AmendContractForm(FlaskForm):
    value = MoneyField(_l("New contract value"), validators=[Optional(), Range(min=0, max=10**11)],
                       description=_l("Leave empty to keep the value."))
    period_end = DateField(_l("New end of the service"), validators=[Optional()],
                           description=_l("Leave empty to keep the end date."))
    rationale = TextAreaField(_l("Reason for the amendment"), validators=[DataRequired(), Length(max=5000)],
                              description=_l("Published with the amendment; it is also the justification of a value "
                                             "above the award or the budget."))


class AmendTenderForm(FlaskForm):
    description = TextAreaField(_l("The need"), validators=[Optional(), Length(max=10000)],
                                description=_l("Leave as it is to keep it."))
    budget = MoneyField(_l("New value of the tender"), validators=[Optional(), Range(min=0, max=10**11)],
                        description=_l("Leave empty to keep the value."))
    rationale = TextAreaField(_l("Reason for the amendment"), validators=[DataRequired(), Length(max=5000)],
                              description=_l("Published with the amendment and sent to the bidders."))


class AmendAwardForm(FlaskForm):
    value = MoneyField(_l("New awarded value"), validators=[Optional(), Range(min=0, max=10**11)],
                       description=_l("Leave empty to keep the value."))
    justification = TextAreaField(_l("Justification of the award"), validators=[Optional(), Length(max=5000)],
                                  description=_l("Leave as it is to keep it."))
    rationale = TextAreaField(_l("Reason for the amendment"), validators=[DataRequired(), Length(max=5000)],
                              description=_l("Published with the amendment."))


class PaymentForm(FlaskForm):
    amount = MoneyField(_l("Amount paid"), **MONEY)
    paid_on = DateField(_l("Paid on"), validators=[Required()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=300)])


class MetricForm(FlaskForm):
    name = StringField(_l("What is measured"), validators=[DataRequired(), Length(max=200)])
    value = IntegerField(_l("Value"), validators=[Required(), Range(min=0)])
    unit = StringField(_l("Unit"), validators=[Optional(), Length(max=60)])


class MilestoneForm(FlaskForm):
    report = TextAreaField(_l("Report"), validators=[DataRequired(), Length(max=5000)])


class CommitmentForm(FlaskForm):
    status = SelectField(_l("Outcome"), choices=lambda: [(s.value, s.label) for s in CommitmentStatus
                                                         if s != CommitmentStatus.PENDING])
    note = TextAreaField(_l("How it was checked"), validators=[DataRequired(), Length(max=2000)])
