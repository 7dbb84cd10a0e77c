"""The checklist and service categories a new city starts with, taken from the
Partner State proposals; officials edit them afterwards."""

DEFAULT_CRITERIA = [
    ("member-control", {
        "en": "Users and members control the design and delivery of its services",
        "es": "Usuarios y socios controlan el diseño y la prestación de sus servicios",
        "it": "Utenti e soci controllano la progettazione e l'erogazione dei servizi",
        "ca": "Usuaris i socis controlen el disseny i la prestació dels seus serveis",
    }),
    ("indivisible-reserve", {
        "en": "Keeps an indivisible reserve: surpluses are not distributed to members",
        "es": "Mantiene una reserva indivisible: los excedentes no se reparten entre los socios",
        "it": "Mantiene una riserva indivisibile: gli utili non sono distribuiti ai soci",
        "ca": "Manté una reserva indivisible: els excedents no es reparteixen entre els socis",
    }),
    ("open-books", {
        "en": "Keeps open books: accounts and service metrics are public",
        "es": "Tiene los libros abiertos: cuentas e indicadores de servicio públicos",
        "it": "Tiene i libri aperti: bilanci e indicatori di servizio sono pubblici",
        "ca": "Té els llibres oberts: comptes i indicadors de servei públics",
    }),
    ("wage-ratio", {
        "en": "Respects the city's maximum wage ratio",
        "es": "Respeta la proporción salarial máxima de la ciudad",
        "it": "Rispetta il rapporto salariale massimo della città",
        "ca": "Respecta la proporció salarial màxima de la ciutat",
    }),
]

DEFAULT_CATEGORIES = [
    ("elder-care", {"en": "Elder care", "es": "Cuidado de mayores", "it": "Assistenza agli anziani",
                    "ca": "Atenció a la gent gran"}),
    ("childcare", {"en": "Childcare", "es": "Cuidado infantil", "it": "Servizi per l'infanzia",
                   "ca": "Atenció a la infància"}),
    ("home-care", {"en": "Home care", "es": "Atención domiciliaria", "it": "Assistenza domiciliare",
                   "ca": "Atenció domiciliària"}),
    ("disability-support", {"en": "Disability support", "es": "Apoyo a la discapacidad",
                            "it": "Sostegno alla disabilità", "ca": "Suport a la discapacitat"}),
    ("work-integration", {"en": "Work integration", "es": "Inserción laboral",
                          "it": "Inserimento lavorativo", "ca": "Inserció laboral"}),
]


def ensure_defaults() -> None:
    """Create the default checklist and categories that do not exist yet (idempotent)."""
    from sqlalchemy import select

    from ..extensions import db
    from .models import AccreditationCriterion, ServiceCategory
    from .operations import save_category, save_criterion

    have = set(db.session.execute(select(AccreditationCriterion.slug)).scalars())
    for slug, texts in DEFAULT_CRITERIA:
        if slug not in have:
            save_criterion(slug, texts)
    have = set(db.session.execute(select(ServiceCategory.slug)).scalars())
    for slug, names in DEFAULT_CATEGORIES:
        if slug not in have:
            save_category(slug, names)
