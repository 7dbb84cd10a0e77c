"""Every open-data file says its licence and may be read from any site; the open-data page shows
the licence and what each field of each file means."""
from flask import current_app


def _files(app):
    return [d.endpoint for d in app.extensions["procomun_datasets"]]


def test_every_file_names_its_licence_and_is_readable_from_any_site(app, client):
    assert len(_files(app)) >= 11
    for endpoint in _files(app):
        path = client.application.url_map.bind("localhost").build(endpoint)
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["Access-Control-Allow-Origin"] == "*", path
        assert answer.headers["Link"] == '<https://creativecommons.org/licenses/by/4.0/>; rel="license"', path
        if answer.mimetype in ("application/json", "application/geo+json"):
            assert answer.get_json()["license"] == "https://creativecommons.org/licenses/by/4.0/", path


def test_the_licence_is_the_city_s_choice(app, client):
    app.config["PROCOMUN_OPEN_DATA_LICENSE"] = "CC0-1.0"
    answer = client.get("/open-data/pacts.csv")
    assert answer.headers["Link"] == '<https://creativecommons.org/publicdomain/zero/1.0/>; rel="license"'
    page = client.get("/open-data/").get_data(as_text=True)
    assert "CC0-1.0" in page and "https://creativecommons.org/publicdomain/zero/1.0/" in page


def test_the_api_description_is_readable_from_any_site(client):
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200 and answer.headers["Access-Control-Allow-Origin"] == "*"


def test_the_open_data_page_says_what_each_field_means(client):
    page = client.get("/open-data/").get_data(as_text=True)
    for dataset in current_app.extensions["procomun_datasets"]:
        assert dataset.fields, f"{dataset.endpoint} describes none of its fields"
    assert "<code>supplier_social_economy</code>" in page
    assert "Whether the supplier belongs to the social economy." in page
    assert "<code>volunteer_hours</code>" in page and "CC-BY-4.0" in page
    assert "Personal data is never published" not in page
