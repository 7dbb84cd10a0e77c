"""The audit trail, readable by officials and administrators, never editable."""
from flask import render_template, request
from sqlalchemy import select

from ..accounts.models import Role
from ..extensions import db
from ..security import roles_required
from . import bp
from .models import AuditEntry


@bp.route("/")
@roles_required(Role.OFFICIAL, Role.ADMIN)
def index():
    object_type = request.args.get("type", "").strip()
    object_id = request.args.get("id", "").strip()
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    if object_type:
        stmt = stmt.where(AuditEntry.object_type == object_type)
    if object_id:
        stmt = stmt.where(AuditEntry.object_id == object_id)
    page = db.paginate(stmt, page=request.args.get("page", 1, type=int), per_page=50, error_out=False)
    return render_template("audit/index.html", page=page, object_type=object_type, object_id=object_id)
