from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from app.forms import DateField, MoneyField, MultiCheckboxField, Range, Required

from . import allowances

# An amount's lower bound, said in words (NumberRange's own message reads "at least 0.01").
ABOVE_ZERO = Range(min=0.01, message=_l("Give an amount above zero."))

SCALE_ROWS = 4        # blank rows of the income scale a form offers at a time
SCALE_MAX_ROWS = 20


class ScaleRowForm(Form):
    """One step of a programme's income scale, in euros as people write them."""
    income_up_to = MoneyField(_l("Yearly household income up to"), validators=[Optional(), Range(min=0)],
                              description="")
    amount = MoneyField(_l("Voucher amount"), validators=[Optional(), Range(min=0)], description="")


class ProgrammeForm(FlaskForm):
    slug = StringField(_l("Short name (for addresses and scripts)"), validators=[DataRequired(), Length(max=80)],
                       description=_l("Lower-case letters, digits and dashes, like home-care-2027."))
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    budget = MoneyField(_l("Budget"), validators=[Required(), ABOVE_ZERO])
    categories = MultiCheckboxField(_l("Service categories the vouchers pay for"))
    valid_from = DateField(_l("Valid from"), validators=[Optional()])
    valid_until = DateField(_l("Valid until"), validators=[Required()])
    eligibility = TextAreaField(_l("Who is eligible"), validators=[Optional(), Length(max=2000)])
    # The income-adjusted scale, a row per step (templates/vouchers/programmes.html): blank rows are
    # ignored, "Add rows" (add_rows) gives more without any script.
    scale = FieldList(FormField(ScaleRowForm), min_entries=SCALE_ROWS, max_entries=SCALE_MAX_ROWS)

    def add_scale_rows(self) -> None:
        for _ in range(min(SCALE_ROWS, SCALE_MAX_ROWS - len(self.scale))):
            self.scale.append_entry()

    @property
    def scale_rows(self) -> list:
        """[income up to, amount] in cents per row as typed (None where empty)."""
        return [[row.form.income_up_to.cents, row.form.amount.cents] for row in self.scale]


class IssueForm(FlaskForm):
    holder_email = EmailField(_l("Holder's email"), validators=[DataRequired(), Length(max=254)],
                              description=_l("The email of the holder's account."))
    # Shown once no account has the email (vouchers/invitations.py): correct it, or invite them.
    invite = BooleanField(_l("Invite this person: open an account with this email and send them a link to "
                             "choose a password"))
    amount = MoneyField(_l("Amount"), validators=[Optional(), ABOVE_ZERO],
                        description=_l("Leave empty to use the programme's income-adjusted scale."))
    income = MoneyField(_l("Household yearly income"), validators=[Optional(), Range(min=0)])
    valid_until = DateField(_l("Valid until"), validators=[Optional()],
                            description=_l("Leave empty for the programme's end."))
    pin = StringField(_l("PIN the holder gives at the front desk (optional)"), validators=[Optional(), Length(max=6)])


class BatchForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired()],
                     description=_l("Header: holder_email,amount_cents,valid_until (the date may be empty)."))
    skip_bad_rows = BooleanField(_l("Issue the good rows even if some rows are bad"))
    # Never an account made unasked (issue #19): the official chooses, for this batch.
    unknown_holders = RadioField(_l("Rows whose email no account has"), default="ask", validators=[Optional()],
                                 choices=[
        ("ask", _l("Stop and list them, to check them for typing mistakes")),
        ("invite", _l("Invite these people: open an account for each and send a link to choose a password")),
        ("leave_out", _l("Leave their rows out and issue the others"))])


class RedeemForm(FlaskForm):
    # A QR code read by a scanner that types it brings the offline allowance too: the code is its part.
    code = StringField(_l("Voucher code"), validators=[DataRequired(), Length(max=300)],
                       filters=[allowances.code_in],
                       description=_l("Twelve characters, like ABCD-EFGH-JKMN; dashes and case do not matter."))
    amount = MoneyField(_l("Amount"), validators=[Required(), ABOVE_ZERO])
    category = SelectField(_l("Service"), validators=[DataRequired()])
    organisation = SelectField(_l("Organisation"), validators=[Optional()])
    pin = StringField(_l("Holder's PIN, if the voucher has one"), validators=[Optional(), Length(max=6)])
    # One per form shown (vouchers/desk.py): a form sent twice is answered, not charged, twice.
    token = HiddenField(validators=[Optional(), Length(max=64)])
    confirm_repeat = BooleanField(_l("Yes, charge it again"))


class RefundForm(FlaskForm):
    """A co-op gives back part or all of a sale (vouchers/refunds.py)."""
    amount = MoneyField(_l("Amount to refund"), validators=[Required(), ABOVE_ZERO])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=300)],
                           description=_l("Say what happened: the holder and the city's voucher office read it."))
    # One per form shown: a refund sent twice (a double click, the back button) is made once.
    token = HiddenField(validators=[Optional(), Length(max=64)])


class TimeForm(FlaskForm):
    email = EmailField(_l("Volunteer's or holder's email"), validators=[DataRequired()])
    minutes = IntegerField(_l("Minutes"), validators=[Required(), Range(min=1, max=1440)])
    direction = SelectField(_l("What happened"), choices=[("earn", _l("The volunteer gave care (earns time)")),
                                                          ("spend", _l("The holder received care (spends time)"))])
    organisation = SelectField(_l("Organisation"), validators=[Optional()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=150)])
    # Its own id: the redemption form beside it on the desk page has a "pin" too.
    pin = PasswordField(_l("Holder's time-credit PIN (to spend)"), validators=[Optional(), Length(max=6)],
                        id="time_pin",
                        description=_l("The holder types it: spending their minutes needs their consent."))


class GiveTimeForm(FlaskForm):
    email = EmailField(_l("Relative's email"), validators=[Optional(), Length(max=254)],
                       description=_l("Leave empty to donate the minutes to the shared time pool."))
    minutes = IntegerField(_l("Minutes"), validators=[Required(), Range(
        min=1, max=10**9, message=_l("Give at least 1 minute."))])
    # Set by the confirmation button: the first submission only asks to confirm.
    confirm = HiddenField()


class TimePinForm(FlaskForm):
    pin = PasswordField(_l("New PIN"), validators=[DataRequired(), Length(min=4, max=6)],
                        description=_l("Four to six digits. You give it at a desk to spend your minutes."))
    pin_again = PasswordField(_l("The PIN again"), validators=[
        DataRequired(), EqualTo("pin", message=_l("The two PINs differ."))])


class ContributionForm(FlaskForm):
    amount = MoneyField(_l("Amount"), validators=[Required(), ABOVE_ZERO])
    organisation = SelectField(_l("Contribute as"), validators=[Optional()])


class SettlementForm(FlaskForm):
    period_start = DateField(_l("From"), validators=[Required()])
    period_end = DateField(_l("To (included)"), validators=[Required()])


WEEKDAYS = [("1", _l("Monday")), ("2", _l("Tuesday")), ("3", _l("Wednesday")), ("4", _l("Thursday")),
            ("5", _l("Friday")), ("6", _l("Saturday")), ("7", _l("Sunday"))]


class ProgrammeRulesForm(FlaskForm):
    """A programme's refund window and spending rules (vouchers/programme_rules.py)."""
    refund_window_days = IntegerField(_l("Days a co-op may refund a sale"), validators=[Required(),
                                      Range(min=0, max=365)], default=14,
                                      description=_l("Counted from the sale; 0: co-ops cannot refund."))
    spend_from = DateField(_l("Vouchers can be spent from"), validators=[Optional()],
                           description=_l("Leave empty to allow spending from issuance."))
    weekdays = MultiCheckboxField(_l("Days they can be spent"), choices=WEEKDAYS,
                                  description=_l("None ticked: every day."))
    hours_from = TimeField(_l("Service hours: from"), validators=[Optional()])
    hours_until = TimeField(_l("Service hours: until"), validators=[Optional()],
                            description=_l("Leave both empty to allow any time of day."))
    max_open = MoneyField(_l("Most open value per holder"), validators=[Optional(), ABOVE_ZERO],
                          description=_l("What one holder may have left on the programme's vouchers at once; "
                                         "issuance beyond it is refused. Leave empty for no cap."))


class BankAccountForm(FlaskForm):
    """A co-op's bank account for its settlements (vouchers/bank.py): an official approves each change."""
    organisation = SelectField(_l("Organisation"), validators=[Optional()])
    holder_name = StringField(_l("Account holder"), validators=[DataRequired(), Length(max=70)],
                              description=_l("The name the bank knows the account by."))
    iban = StringField(_l("IBAN"), validators=[DataRequired(), Length(max=50)],
                       description=_l("Spaces do not matter, like IT60 X054 2811 1010 0000 0123 456."))
    bic = StringField(_l("BIC"), validators=[DataRequired(), Length(max=15)],
                      description=_l("The bank's code: 8 or 11 letters and digits."))


class PaidForm(FlaskForm):
    paid_on = DateField(_l("Day the bank executed the transfer"), validators=[Required()])


class ReasonForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=300)])


class ReversalForm(FlaskForm):
    reason = StringField(_l("Why is this transfer being reversed?"), validators=[DataRequired(), Length(max=300)],
                         description=_l("Kept in the ledger and the audit log with the reversal."))
    # Set by the confirmation button: the first submission only asks to confirm.
    confirm = HiddenField()


class OfflineTermsForm(FlaskForm):
    """A programme's offline terms (vouchers/allowances.py)."""
    allowance = MoneyField(_l("Most a voucher may spend offline"), validators=[Required(), Range(min=0)],
                           description=_l("Signed into each voucher's QR code; 0 allows no offline sale."))
    sales_per_day = IntegerField(_l("Offline sales a day"), validators=[Required(), Range(min=1, max=20)])
    validity_days = IntegerField(_l("Days a signed allowance holds"),
                                 validators=[Required(), Range(min=1, max=31)])
    risk_budget = MoneyField(_l("Offline-risk budget"), validators=[Required(), Range(min=0)],
                             description=_l("What the city may pay in all for offline sales that met a conflict."))


class EligibilityListForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired()],
                     description=_l("Header: identifier,birth_date,income_cents,email,postal_address,language "
                                    "(email and address may be empty)."))
    dry_run = BooleanField(_l("Only check the list and show what it would do"))


class ResidentVerificationForm(FlaskForm):
    identifier = StringField(_l("Identity document or census number"), validators=[DataRequired(), Length(max=40)],
                             render_kw={"autocomplete": "off"})
    birth_date = DateField(_l("Date of birth"), validators=[Required()])


class LetterActivationForm(FlaskForm):
    code = StringField(_l("Activation code on the letter"), validators=[DataRequired(), Length(max=40)],
                       render_kw={"autocomplete": "off", "autocapitalize": "characters"})
    pin = PasswordField(_l("PIN the desk will ask for (optional, four to six digits)"),
                        validators=[Optional(), Length(min=4, max=6)], render_kw={"inputmode": "numeric",
                                                                                  "autocomplete": "new-password"})
    pin_again = PasswordField(_l("The PIN again"), validators=[EqualTo("pin", message=_l("The two PINs differ."))],
                              render_kw={"inputmode": "numeric", "autocomplete": "new-password"})
