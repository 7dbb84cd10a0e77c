"""A believable small city for newcomers: `flask --app app demo` (idempotent).

The core loads organisations, accreditations and one account per role; each
module's `demo.load(demo)` then adds its own records on top."""
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from .accounts import operations as accounts
from .accounts.models import Role, User
from .accounts.passwords import hash_password
from .database import transaction
from .extensions import db
from .i18n import city_today
from .organisations import operations as orgs
from .organisations.defaults import ensure_defaults
from .organisations.models import Organisation

DEMO_PASSWORD = "procomun-demo"
_demo_password_hash: list[str] = []


def create_demo_user(email: str, **account) -> User:
    """A demo account that signs in with DEMO_PASSWORD. The password is public and the same
    for every demo account, so it is hashed once per process and the hash shared: an Argon2
    hash at production cost takes ~0.3 s, and hashing it anew for each of the demo's ~18
    accounts was most of a demo load (which every benchmark's setup runs)."""
    if not _demo_password_hash:
        _demo_password_hash.append(hash_password(DEMO_PASSWORD))
    with transaction():
        user = accounts.create_user(email, None, **account)
        user.password_hash = _demo_password_hash[0]
    return user

ORGANISATIONS = [
    ("social-services", "Department of Social Services", "municipal_department", "Centro"),
    ("commons-office", "Office for the Urban Commons", "municipal_department", "Centro"),
    ("la-tela", "La Tela Social Co-operative", "social_coop_a", "San Donato"),
    ("verde-lavoro", "Verde Lavoro Work-Integration Co-operative", "social_coop_b", "Navile"),
    ("casa-comune", "Casa Comune Multi-stakeholder Co-operative", "multi_stakeholder_coop", "Porto"),
    ("amici-del-parco", "Friends of the Park Association", "association", "Navile"),
    ("serviplus", "ServiPlus Ltd", "company", "Borgo Panigale"),
]

ACCREDITATIONS = [
    ("la-tela", "elder-care"), ("la-tela", "home-care"),
    ("casa-comune", "childcare"), ("casa-comune", "disability-support"),
    ("verde-lavoro", "work-integration"),
]

ACCOUNTS = [
    ("admin@villanova.example", "Ada Admin", [Role.ADMIN, Role.OFFICIAL], ["commons-office"]),
    ("official@villanova.example", "Giulia Bianchi", [Role.OFFICIAL], ["social-services"]),
    ("citizen@villanova.example", "Marco Rossi", [Role.CITIZEN], []),
    ("citizen2@villanova.example", "Aina Puig", [Role.CITIZEN], []),
    ("coop@villanova.example", "Lucía Fernández", [Role.ORG_MEMBER, Role.CITIZEN], ["la-tela"]),
    ("coop2@villanova.example", "Paolo Verdi", [Role.ORG_MEMBER, Role.CITIZEN], ["casa-comune"]),
    ("council@villanova.example", "Núria Soler", [Role.COUNCIL_MEMBER, Role.CITIZEN], ["amici-del-parco"]),
    ("moderator@villanova.example", "Marta Ferri", [Role.MODERATOR, Role.CITIZEN], []),
]


@dataclass
class Demo:
    """What the core created, for the modules' demo loaders to build on."""
    users: dict[str, User] = field(default_factory=dict)
    organisations: dict[str, Organisation] = field(default_factory=dict)
    today: date = field(default_factory=city_today)
    created: list[str] = field(default_factory=list)


def load() -> Demo:
    demo = Demo()
    ensure_defaults()
    for slug, name, kind, neighbourhood in ORGANISATIONS:
        org = db.session.execute(select(Organisation).where(Organisation.slug == slug)).scalar_one_or_none()
        if org is None:
            org = orgs.create_organisation(slug, name, kind, neighbourhood=neighbourhood,
                                           description=f"{name}, {neighbourhood}.")
        demo.organisations[slug] = org
    for slug, category in ACCREDITATIONS:
        org = demo.organisations[slug]
        if not orgs.is_accredited(org.id, category):
            orgs.accredit(org, orgs.category_by_slug(category), date(demo.today.year + 1, 12, 31),
                          valid_from=date(demo.today.year - 3, 1, 1), met_all=True, wage_ratio="3.5")
    for email, name, roles, memberships in ACCOUNTS:
        user = accounts.find_user(email)
        if user is None:
            user = create_demo_user(email, name=name, roles=roles,
                                    organisations=[demo.organisations[s] for s in memberships])
            demo.created.append(email)
        demo.users[email] = user
    return demo
