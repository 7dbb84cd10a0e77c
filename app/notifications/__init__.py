"""Notifications: follows, the transactional outbox, in-app notices, email, reminders, digests.

A module declares its kinds once with `register_event(...)` and emits with
`emit(kind, subject_type, subject_id, actor=user, **context)` inside its
operation's transaction; the worker (`flask outbox work`) does the rest."""
from flask import Blueprint

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
