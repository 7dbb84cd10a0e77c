"""The accreditation certificate: the PDF an organisation shows its users."""
from flask_babel import force_locale
from flask_babel import gettext as _

from ..documents import render_pdf
from .models import Accreditation
from .operations import criteria


def certificate_reference(acc: Accreditation) -> str:
    return f"ACC-{acc.valid_from.year}-{acc.id:05d}"


def certificate_pdf(acc: Accreditation, locale: str) -> bytes:
    """The certificate as issued today, in `locale`, with its status and history."""
    with force_locale(locale):
        title = _("Certificate of accreditation")
    return render_pdf("organisations/certificate.html", locale=locale,
                      reference=certificate_reference(acc), title=title, acc=acc, org=acc.organisation,
                      criteria=criteria(active_only=False))
