"""Every form the demo city renders, as each of its people sees it, fed values
that hypothesis makes up (with a valid CSRF token, so they reach the form's
validation): never a 500; a refused form changes no row and writes no audit
entry; its messages come in the language the request asked for.

`make test` tries a few derandomised cases per form; `make check-slow` many more."""
import html
import os
import re
from datetime import date, datetime

import pytest
from babel.messages.pofile import read_po
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from app.accounts.models import User
from app.config import ROOT
from app.extensions import db

from .crawl import PEOPLE, demo_client, load_demo, walk

XSS = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "'; DROP TABLE users; --"]
ERROR_TEXT = re.compile(r'<p class="error"[^>]*>(.*?)</p>', re.S)
# Forms that end the session or change who is signed in: fuzzing them would only sign the fuzzer out.
SKIP_ACTIONS = ("/account/logout", "/account/login", "/account/password", "/account/reset")
CASES = {"fast": 3, "slow": 40}
# Rows that are no record of anyone's: attempt counters (a refused sign-in or reset request counts
# too, that is their point) and the outbox row of a reset link asked for (nothing is decided by it).
NOT_RECORDS = {"throttles", "outbox_events"}

# Past every length limit: a short made-up text repeated to 3,000–6,000 characters. (Drawn one
# character at a time, such texts were most of the slow fuzzing's time, for nothing a repeat lacks.)
long_texts = st.tuples(st.text(min_size=1, max_size=12), st.integers(3000, 6000)).map(
    lambda drawn: (drawn[0] * drawn[1])[:drawn[1]])
text_values = st.one_of(
    st.text(max_size=40), st.sampled_from(XSS), long_texts,
    st.sampled_from(["", " ", "0", "-1", "1e309", "NaN", "99999999999999999999", "2027-02-30", "\x00",
                     "null", "%(name)s", "{{ 7*7 }}", "../../etc/passwd", "ÀÉÎõü·l·l €"]))


# The calendar's ends, as a program or a browser might send them (tests/trust/test_date_range.py
# checks each date field's answer to them; here they must simply never break a form).
CALENDAR_ENDS = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00", "9999-12-31T23:59"]


def _value(kind, choices):
    if kind in ("select", "radio"):
        return st.one_of(st.sampled_from(choices or [""]), text_values)
    if kind == "checkbox":
        return st.one_of(st.none(), st.sampled_from(choices or ["y"]), text_values)
    if kind == "number":
        return st.one_of(st.integers(-10**12, 10**12).map(str), text_values)
    if kind == "date":
        return st.one_of(st.dates(date(1, 1, 1), date(9999, 12, 31)).map(date.isoformat), text_values)
    if kind == "datetime-local":
        return st.one_of(st.datetimes(datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59)).map(
            lambda moment: moment.isoformat(timespec="minutes")), st.sampled_from(CALENDAR_ENDS), text_values)
    if kind == "file":
        return st.none()  # uploads have their own tests (test_uploads.py)
    return text_values


def _row_counts() -> dict:
    """Every table's row count, in one statement (one round trip, not one a table: the fuzzing
    counts before and after each of its thousands of cases)."""
    tables = db.metadata.sorted_tables
    row = db.session.execute(select(*(select(func.count()).select_from(t).scalar_subquery() for t in tables))).one()
    db.session.commit()
    return {table.name: count for table, count in zip(tables, row, strict=True)}


def _forget_language(client, who) -> None:
    """Undo a chosen language (the session's and the account's), so the next case's
    Accept-Language decides the page's language again."""
    with client.session_transaction() as session:
        session.pop("locale", None)
    if PEOPLE[who]:
        db.session.execute(update(User).where(User.email == PEOPLE[who]).values(locale=None))
        db.session.commit()


def _english_messages() -> set:
    """Every English message of every catalog whose Spanish translation differs."""
    english = set()
    for po in (ROOT / "translations").glob("*/es/LC_MESSAGES/messages.po"):
        with po.open("rb") as handle:
            for message in read_po(handle):
                if message.id and isinstance(message.id, str) and message.string and message.string != message.id:
                    english.add(message.id.split("%(")[0].strip())
    return {m for m in english if len(m) > 12}


def _forms(app, clients):
    """One of each form (by person and action) that the demo city's pages render."""
    forms = {}
    for who in PEOPLE:
        for visit in walk(app, who, per_route=1, client=clients[who]):
            for form in visit.forms:
                action = form.action.split("?")[0]
                if form.method != "POST" or action.startswith(SKIP_ACTIONS) or "csrf_token" not in form.fields:
                    continue
                key = (who, re.sub(r"\d+", "N", action), tuple(sorted(form.fields)))
                forms.setdefault(key, (who, form))
    return list(forms.values())


def run_fuzz(app, cases, part=0, parts=1):
    """Every form of the demo city with `cases` made-up inputs each; with `parts`, only every
    parts-th form from the part-th, so that the many-cases run is shared out between test workers."""
    load_demo(app)
    english = _english_messages()
    clients = {who: demo_client(app, who) for who in PEOPLE}
    forms = _forms(app, clients)
    assert len(forms) > 30, [f.action for _w, f in forms]
    problems, ran, statuses = [], [0], {}

    for who, form in forms[part::parts]:
        client = clients[who]
        fields = {name: spec for name, spec in form.fields.items() if name != "csrf_token"}
        token = form.fields["csrf_token"][2]
        strategy = st.fixed_dictionaries({name: _value(kind, choices) for name, (kind, choices, _d) in fields.items()})

        @settings(max_examples=cases, derandomize=True, database=None, deadline=None,
                  suppress_health_check=list(HealthCheck))
        @given(values=strategy, language=st.sampled_from(["en", "es"]))
        def case(values, language):
            ran[0] += 1
            data = {k: v for k, v in values.items() if v is not None}
            data["csrf_token"] = token
            before = _row_counts()
            response = client.post(form.action, data=data, headers={"Accept-Language": language})
            where = f"{who} POST {form.action} {sorted(data)} [{language}]"
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code >= 500:
                problems.append(f"{where}: {response.status_code}")
                return
            if response.status_code in (302, 303):
                # Accepted: a real change, audited by its operation (test_audit_harness.py). If it
                # was a language chosen (the switcher, the profile), it would outrank the next
                # cases' Accept-Language, as it should for a person: forget it between cases.
                _forget_language(client, who)
                return
            after = _row_counts()
            changed = {t: (before[t], after[t]) for t in before if before[t] != after[t] and t not in NOT_RECORDS}
            page = response.get_data(as_text=True)
            refused = response.status_code >= 400 or 'class="error"' in page or "alert-error" in page
            if refused and changed:
                problems.append(f"{where}: refused ({response.status_code}) but rows changed {changed}")
            if not refused and changed and "audit_log" not in changed:
                problems.append(f"{where}: accepted and changed {changed} without an audit entry")
            if language == "es" and response.content_type.startswith("text/html"):
                if 'lang="es"' not in page:
                    problems.append(f"{where}: page not in Spanish")
                for error in ERROR_TEXT.findall(page):
                    text = html.unescape(error).strip()
                    if any(text.startswith(m) for m in english):
                        problems.append(f"{where}: English error {text!r}")
            for payload in XSS[:2]:
                if payload in page:
                    problems.append(f"{where}: echoed unescaped {payload!r}")

        case()
    assert not problems, "\n".join(problems[:40])
    # The cases reached the forms' own validation, not a CSRF refusal.
    assert statuses.get(400, 0) < ran[0] / 4, statuses
    print(f"\nstatuses: {statuses}")
    return ran[0], len(forms)


def test_every_form_survives_made_up_input(app, capsys):
    ran, forms = run_fuzz(app, CASES["fast"])
    with capsys.disabled():
        print(f"\nform fuzzing: {forms} forms, {ran} cases")


SLOW_PARTS = 4  # the longest check of all (15 minutes on PostgreSQL in one piece): four pieces for the workers


@pytest.mark.slow
@pytest.mark.parametrize("part", range(SLOW_PARTS))
def test_every_form_survives_many_made_up_inputs(app, capsys, part):
    ran, forms = run_fuzz(app, int(os.environ.get("FUZZ_CASES", CASES["slow"])), part, SLOW_PARTS)
    with capsys.disabled():
        print(f"\nform fuzzing (slow, part {part + 1} of {SLOW_PARTS}): {ran} cases, of {forms} forms in all")


def test_markup_typed_into_every_text_field_is_shown_escaped(app):
    """Stored XSS: every text field of every form gets a script or an onerror image;
    then no page of the city, seen by anyone, carries that markup live."""
    load_demo(app)
    clients = {who: demo_client(app, who) for who in PEOPLE}
    payloads = {"script": '<script>alert("xss")</script>', "img": '"><img src=x onerror=alert("xss")>'}
    for n, (who, form) in enumerate(_forms(app, clients)):
        payload = list(payloads.values())[n % 2]
        data = {}
        for name, (kind, choices, default) in form.fields.items():
            if kind in ("text", "textarea", "email", "search", "url", "tel"):
                data[name] = payload
            elif kind in ("select", "radio"):
                data[name] = default or (choices[0] if choices else "")
            elif kind != "file":
                data[name] = default
        response = clients[who].post(form.action, data=data)
        assert response.status_code < 500, (who, form.action)
        assert payload not in response.get_data(as_text=True), (who, form.action)
    shown, problems = 0, []
    for who in PEOPLE:
        for visit in walk(app, who, per_route=3):
            for payload in payloads.values():
                if payload in visit.html:
                    problems.append(f"{who} {visit.url}: live markup {payload!r}")
            shown += visit.html.count("alert(&#34;xss&#34;)") + visit.html.count("alert(&quot;xss&quot;)")
    assert not problems, "\n".join(problems)
    assert shown > 0  # the payloads were stored and shown, escaped
