"""Form pieces every module uses: domain errors shown next to their field."""
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, widgets

from .errors import DomainError


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def attach_error(form: FlaskForm, error: DomainError) -> None:
    """Put a refused operation's message beside the field it concerns, or on the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, str(error.message)] if isinstance(field.errors, list) else [str(error.message)]
    else:
        form.form_errors.append(str(error.message))
