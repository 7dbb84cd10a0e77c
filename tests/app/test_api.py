def test_openapi_document_describes_the_api(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/me" in spec["paths"] and "/api/v1/organisations" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_the_documented_error_shape_is_the_one_answered(client):
    """A client generated from the OpenAPI document must be able to read our errors: the Error
    component describes {error, message, field?, errors?}, and real answers validate against it."""
    import jsonschema
    spec = client.get("/api/v1/openapi.json").json
    error = spec["components"]["schemas"]["Error"]
    answers = [client.get("/api/v1/no-such-thing"), client.get("/api/v1/me"),
               client.post("/api/v1/vouchers/redemptions", json={"code": 1}, headers={"Authorization": "Bearer x"})]
    for answer in answers:
        jsonschema.validate(answer.json, error)
    redemption = spec["paths"]["/api/v1/vouchers/redemptions"]["post"]
    assert redemption["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/RedemptionBody")
    assert {"201", "401", "403", "404", "409", "410", "422"} <= set(redemption["responses"])
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method in ("post", "put", "patch", "delete"):
                assert operation.get("security"), f"{method} {path} does not say it needs a bearer token"


def test_api_errors_are_json_with_a_code_and_a_message(client):
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404 and missing.json == {
        "error": "not_found", "message": "Nothing was found at this address."}
    unauth = client.get("/api/v1/me", headers={"Authorization": "Bearer nope"})
    assert unauth.status_code == 401 and unauth.json["error"] == "unauthorized"
    wrong_method = client.delete("/api/v1/organisations")
    assert wrong_method.status_code == 405 and wrong_method.json["error"] == "method_not_allowed"


def test_api_errors_speak_the_request_language(client):
    response = client.get("/api/v1/me", headers={"Accept-Language": "it"})
    assert response.status_code == 401
    assert response.json["message"] != "A valid bearer token is required."


def test_html_errors_are_pages(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and "text/html" in response.content_type
    assert "Page not found" in response.get_data(as_text=True)


def test_healthz_reports_the_database(client):
    assert client.get("/healthz").json == {"status": "ok", "database": "reachable"}


def test_healthz_reports_an_unreachable_database(app, tmp_path):
    from app import create_app
    from tests.conftest import app_config
    broken = create_app(app_config("postgresql+psycopg://nobody@127.0.0.1:1/none", tmp_path))
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503 and response.json["database"] == "unreachable"
