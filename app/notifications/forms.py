"""The preferences form: one choice per registered kind of event."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField

from .models import Mode

MODE_LABELS = {Mode.IMMEDIATE: _l("Immediately"), Mode.DIGEST: _l("Daily digest"), Mode.OFF: _l("Off")}


def preferences_form(kinds, current: dict, formdata=None):
    """A form class built from the registry (modules add kinds), filled with `current`."""
    class PreferencesForm(FlaskForm):
        pass

    for kind in kinds:
        setattr(PreferencesForm, kind.kind.replace(".", "__"), RadioField(
            kind.label, choices=[(m.value, MODE_LABELS[m]) for m in Mode], default=current[kind.kind].value))
    return PreferencesForm(formdata=formdata)


def modes_from(form, kinds) -> dict[str, str]:
    return {kind.kind: getattr(form, kind.kind.replace(".", "__")).data for kind in kinds}
