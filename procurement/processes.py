"""A procurement process: its phase machine (the one place a phase changes), who may read and
who may move it, and reading the register.

Access, decided here (tested in tests/procurement/test_operations.py and test_views.py):
- a process is public once its tender is published; while in planning only
  officials and admins see it;
- every official and admin reads everything (the social-procurement office
  sees all), but only officials who are members of the procuring department,
  and admins, create or move a process;
- members of an organisation bid for it on tenders open for bids, and see
  their own bid's per-criterion scores; other bidders' detailed scores stay
  with the officials (the ranking of totals is public with the award)."""
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.accounts.models import Role
from app.accounts.operations import is_official
from app.audit.operations import history, record
from app.errors import Invalid, NotAllowed, NotFound
from app.extensions import db
from app.i18n import city_today
from app.organisations.models import Organisation, OrganisationKind
from app.states import StateMachine
from councils.needs import priority_need_by_id, priority_needs

from .models import Award, Bid, Contract, Phase, Procedure, Process

PHASES = StateMachine({
    Phase.PLANNING: {Phase.TENDER, Phase.CANCELLED},
    Phase.TENDER: {Phase.BIDS, Phase.CANCELLED},
    Phase.BIDS: {Phase.AWARD, Phase.CANCELLED},
    Phase.AWARD: {Phase.CONTRACT},
    Phase.CONTRACT: {Phase.IMPLEMENTATION},
    Phase.IMPLEMENTATION: {Phase.CLOSED},
    Phase.CLOSED: set(),
    Phase.CANCELLED: set(),
}, labels={p: p.label for p in Phase})

MAX_CENTS = 10**13  # a hundred billion: anything larger is a typing error


def check_cents(value, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value > MAX_CENTS:
        raise Invalid(_l("Give an amount of money of zero or more."), field=field)
    return value


# Integration seam with the councils module ---------------------------------------------

def council_needs(need_id: int | None = None):
    """The councils' adopted priority needs: the one place procurement reads
    councils, through their operations. With `need_id`, that need if it is
    still current (else None); without, every current need, most urgent first."""
    if need_id is None:
        return priority_needs(current_only=True)
    need = priority_need_by_id(need_id)
    return need if need is not None and need.superseded_on is None else None


# Who may do what -------------------------------------------------------------------------

def can_read(user, process: Process) -> bool:
    return process.published or is_official(user)


def can_manage(user, process_or_department) -> bool:
    """Admins, and officials who are members of the procuring department."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    department = getattr(process_or_department, "department", process_or_department)
    if user.has_role(Role.ADMIN):
        return True
    return user.has_role(Role.OFFICIAL) and user.member_of(department)


def require_manage(user, process_or_department) -> None:
    if not can_manage(user, process_or_department):
        department = getattr(process_or_department, "department", process_or_department)
        raise NotAllowed(_l("Only officials of %(department)s may change this process.",
                            department=department.name))


def departments() -> list[Organisation]:
    return db.session.execute(
        select(Organisation).where(Organisation.kind == OrganisationKind.MUNICIPAL_DEPARTMENT.value)
        .order_by(Organisation.name)).scalars().all()


# The phase machine -----------------------------------------------------------------------

def move(process: Process, target: Phase, actor, **extra) -> None:
    """The one place a phase changes: checked against PHASES, audited. Runs in
    the caller's transaction; the row is re-read under a lock first, so two
    officials moving the same process at once cannot both succeed."""
    stored = db.session.execute(select(Process.phase).where(Process.id == process.id)
                                .with_for_update()).scalar_one()
    PHASES.check(Phase(stored), target)
    before = {"phase": process.phase}
    process.phase = target.value
    record(f"procurement.{target.value}", process, actor=actor, before=before,
           after={"phase": target.value, **extra})


def lock(process: Process) -> Process:
    """Re-read the process under a row lock, inside the caller's transaction: a rule checked after
    it (the deadline, the phase, the bids) cannot change before the caller's writes commit."""
    # The id alone: PostgreSQL refuses FOR UPDATE on the outer joins of the eager-loaded relations.
    db.session.execute(select(Process.id).where(Process.id == process.id).with_for_update()).scalar_one()
    db.session.refresh(process)
    db.session.expire(process, ["bids", "all_bids"])
    return process


# Reading ---------------------------------------------------------------------------------

def process_by_id(process_id: int, user=None) -> Process:
    """The process, if it exists and `user` may read it (else NotFound: an
    unpublished process does not exist for the public)."""
    row = db.session.get(Process, process_id, options=[
        selectinload(Process.criteria), selectinload(Process.bids).selectinload(Bid.scores),
        selectinload(Process.award), selectinload(Process.contract).selectinload(Contract.milestones),
        selectinload(Process.contract).selectinload(Contract.commitments),
        selectinload(Process.contract).selectinload(Contract.payments),
        selectinload(Process.contract).selectinload(Contract.metrics)])
    if row is None or not can_read(user, row):
        raise NotFound(_l("No such procurement process."))
    return row


def search(user=None, *, phase: str = "", procedure: str = "", page: int = 1, per_page: int = 20,
           internal: bool = False):
    """The register: published processes (all of them for officials, and with
    `internal` for the command line), newest first."""
    stmt = (select(Process).options(selectinload(Process.award).joinedload(Award.bid),
                                    selectinload(Process.contract), selectinload(Process.criteria))
            .order_by(Process.created_at.desc(), Process.id.desc()))
    if not (internal or is_official(user)):
        stmt = stmt.where(Process.published_at.is_not(None))
    if phase in [p.value for p in Phase]:
        stmt = stmt.where(Process.phase == phase)
    if procedure in [p.value for p in Procedure]:
        stmt = stmt.where(Process.procedure == procedure)
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def published_processes() -> list[Process]:
    """Every published process with everything the open data needs, loaded eagerly."""
    return db.session.execute(
        select(Process).where(Process.published_at.is_not(None))
        .options(selectinload(Process.criteria),
                 selectinload(Process.bids).selectinload(Bid.scores),
                 selectinload(Process.award),
                 selectinload(Process.contract).selectinload(Contract.milestones),
                 selectinload(Process.contract).selectinload(Contract.commitments),
                 selectinload(Process.contract).selectinload(Contract.payments),
                 selectinload(Process.contract).selectinload(Contract.metrics))
        .order_by(Process.id)).scalars().all()


def process_history(process: Process) -> list[tuple]:
    """The audited moves of a process, oldest first, as (entry, label) for the officials' page."""
    labels = {f"procurement.{p.value}": p.label for p in Phase}
    labels |= {"procurement.created": _l("Opened in planning"),
               "procurement.criteria_set": _l("Award criteria set"),
               "procurement.deadline_extended": _l("Deadline for bids extended"),
               "procurement.contract_amended": _l("Contract amended"),
               "procurement.tender_amended": _l("Tender amended"),
               "procurement.award_amended": _l("Award amended"),
               "procurement.evaluator_added": _l("Official appointed to the evaluation panel"),
               "procurement.evaluator_removed": _l("Official taken off the evaluation panel")}
    return [(entry, labels.get(entry.action, entry.action))
            for entry in history("procurement_processes", process.id)]


def open_tenders() -> list[Process]:
    """Tenders accepting bids today."""
    return db.session.execute(
        select(Process).where(Process.phase == Phase.TENDER.value, Process.bid_deadline >= city_today())
        .order_by(Process.bid_deadline)).scalars().all()


def ocid_prefix() -> str:
    """The city's OCDS prefix (setting PROCUREMENT_OCID_PREFIX), registered with Open Contracting."""
    return current_app.config["PROCUREMENT_OCID_PREFIX"]
