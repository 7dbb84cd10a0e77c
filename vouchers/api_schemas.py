"""The bodies the vouchers API reads and the answers it writes (marshmallow schemas, in the OpenAPI
document too): a write's body takes an idempotency key, refuses true for 1 and "12" for 12, and
says what is wrong field by field in the request's language."""
from flask_babel import gettext as _
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from app.api import Date

from .models import MAX_CENTS

MAX_MINUTES = 10**9


class WholeNumber(fields.Integer):
    """An integer that is really one: no true/false, no 12.0, no "12"."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _validated(self, value):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._validated(value)


class WriteBody(Schema):
    """A write's JSON body: unknown fields ignored, errors translated field by field."""

    class Meta:
        unknown = EXCLUDE

    idempotency_key = fields.String(required=True, validate=validate.Length(min=1, max=100),
                                    metadata={"description": "Any unique text; a retry with it moves nothing twice."})

    def handle_error(self, error, data, **kwargs):
        messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        translated = {}
        for name in messages:
            field = self.fields.get(name)
            if field is None or not isinstance(data, dict):
                translated[name] = [_("Send a JSON object with the fields this request describes.")]
            elif data.get(name) is None:
                translated[name] = [_("This field is required.")]
            elif isinstance(field, fields.Integer):
                bounds = next((v for v in field.validators if isinstance(v, validate.Range)), None)
                translated[name] = [_("Give a whole number from %(min)s to %(max)s.", min=bounds.min, max=bounds.max)
                                    if bounds else _("Give a whole number.")]
            elif isinstance(field, fields.Email):
                translated[name] = [_("Give an email address.")]
            elif isinstance(field, fields.Boolean):
                translated[name] = [_("Give true or false.")]
            elif isinstance(field, fields.Date):
                named = messages[name] if isinstance(messages[name], list) else [messages[name]]
                translated[name] = ([str(m) for m in named] if not str(named[0]).startswith("Not a valid")
                                    else [_("Give a date written like 2027-06-30.")])
            else:
                length = next((v for v in field.validators if isinstance(v, validate.Length)), None)
                translated[name] = [_("Give a text of %(min)s to %(max)s characters.", min=length.min or 0,
                                      max=length.max) if length else _("Give a text.")]
        raise ValidationError(translated)


class ContributionBody(WriteBody):
    amount_cents = WholeNumber(required=True, validate=validate.Range(min=1, max=MAX_CENTS))
    organisation = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=80),
                                 metadata={"description": "Slug of your organisation, to contribute on its behalf."})


class IssuanceBody(WriteBody):
    holder_email = fields.Email(required=True, validate=validate.Length(max=254),
                                metadata={"description": "The email of the holder's account."})
    amount_cents = WholeNumber(load_default=None, validate=validate.Range(min=1, max=MAX_CENTS),
                               metadata={"description": "Leave out to apply the programme's income scale."})
    income_cents = WholeNumber(load_default=None, validate=validate.Range(min=0, max=MAX_CENTS),
                               metadata={"description": "The household's yearly income, for the scale."})
    valid_until = Date(load_default=None, metadata={"description": "Leave out for the programme's end."})
    pin = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=4, max=6),
                        metadata={"description": "Four to six digits the holder gives at the desk."})
    invite = fields.Boolean(load_default=False, metadata={
        "description": "When no account has the email: true opens one and sends the person an invitation to "
                       "choose a password (in the request's language); false (the default) refuses with "
                       "422 unknown_person, so a mistyped email is corrected instead."})


# The issuance operation's field names (the web form's) → the body's.
ISSUANCE_FIELDS = {"amount": "amount_cents", "income": "income_cents"}


class IssuanceOut(Schema):
    voucher_id = fields.Integer()
    code = fields.String()
    programme = fields.String(metadata={"description": "The programme's slug"})
    holder_email = fields.String()
    value_cents = fields.Integer()
    valid_until = fields.String(metadata={"format": "date"})
    invited = fields.Boolean(metadata={"description": "True when the holder's account was opened by this request "
                                                      "and an invitation sent."})


class ContributionOut(Schema):
    contribution_id = fields.Integer()
    amount_cents = fields.Integer()
    organisation = fields.String(allow_none=True)
    at = fields.String()
    returned_at = fields.String(allow_none=True, metadata={
        "description": "When the contribution was given back by a reversal; its receipt is then void."})
    receipt_url = fields.String()


class ReversalBody(WriteBody):
    reason = fields.String(required=True, validate=validate.Length(max=300))


class ReversalOut(Schema):
    reversal_id = fields.Integer()
    reverses = fields.Integer()
    amount = fields.Integer()
    currency = fields.String()
    reversed_kind = fields.String()
    reason = fields.String()
    at = fields.String()


class TimeCreditBody(WriteBody):
    volunteer_email = fields.Email(required=True, validate=validate.Length(max=254))
    minutes = WholeNumber(required=True, validate=validate.Range(min=1, max=24 * 60))
    note = fields.String(load_default="", validate=validate.Length(max=150))
    organisation = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=80),
                                 metadata={"description": "Slug of your organisation, if you belong to several."})


class TimeCreditOut(Schema):
    transfer_id = fields.Integer()
    minutes = fields.Integer()
    volunteer_email = fields.String()
    organisation = fields.String()
    note = fields.String()
    at = fields.String()


class TimeGiftBody(WriteBody):
    relative_email = fields.Email(required=True, validate=validate.Length(max=254))
    minutes = WholeNumber(required=True, validate=validate.Range(min=1, max=MAX_MINUTES))


class TimeGiftOut(Schema):
    """The same answer whether or not the email has an account (issue #19): nothing in it, nor its
    status, tells who is registered here."""
    minutes = fields.Integer()
    relative_email = fields.String()
    note = fields.String(metadata={"description": "The minutes leave your account either way; with no account "
                                                  "for the email yet they wait for one, then come back."})



class MovementOut(Schema):
    transfer_id = fields.Integer()
    at = fields.String()
    kind = fields.String()
    currency = fields.String()
    amount_in = fields.Integer()
    amount_out = fields.Integer()
    reference = fields.String()
    reverses = fields.Integer(allow_none=True)


class MovementsOut(Schema):
    older = fields.String(allow_none=True, metadata={"description": "before=<this> reads the older movements"})
    newer = fields.String(allow_none=True, metadata={"description": "after=<this> reads the newer movements"})
    page = fields.Integer(metadata={"description": "The page asked for with `page` (1 otherwise)"})
    pages = fields.Integer(metadata={"description": "Only when `page` was asked: how many pages there are"})
    total = fields.Integer(metadata={"description": "Only when `page` was asked: how many movements there are"})
    movements = fields.List(fields.Nested(MovementOut))


class ContributionsOut(Schema):
    contributions = fields.List(fields.Nested(ContributionOut))
