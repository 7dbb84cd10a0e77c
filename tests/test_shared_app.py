"""The suite builds one app per database for each test process and hands it to every test as new
(tests/conftest.py:_shared_app): what one test changes of it never reaches the next."""
from pathlib import Path

BUILT = {}


def test_a_test_may_change_its_app(app, backend):
    BUILT[backend] = app
    app.config["PROCOMUN_CURRENCY"] = "CHF"
    app.extensions["procomun_outbox_claims"] = {"after": 99, "swept": None}
    (Path(app.instance_path) / "left-behind").write_text("from the test before")


def test_the_next_test_gets_the_app_as_it_was_built(app, backend):
    assert BUILT.get(backend, app) is app  # one app, not a new one per test
    assert app.config["PROCOMUN_CURRENCY"] == "EUR"
    assert "procomun_outbox_claims" not in app.extensions
    assert Path(app.instance_path).is_dir()
    assert not (Path(app.instance_path) / "left-behind").exists()
