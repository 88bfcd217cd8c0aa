import json

from werkzeug.exceptions import NotFound as HttpNotFound
from werkzeug.exceptions import RequestEntityTooLarge

from services.gateway.errors import STATUS, CsrfFailed, LengthRequired, Unauthorized, UploadStalled, status_of
from services.gateway.web import error_response
from shared.errors import DomainError, Gone, InvalidInput, NotFound, ServiceUnavailable


def body(response):
    return json.loads(response.get_data())


def test_domain_errors_keep_their_status_and_message():
    response = error_response(InvalidInput("the file is empty", field="file"))
    assert response.status_code == 400
    assert body(response) == {"error": "invalid_input", "message": "the file is empty", "field": "file"}
    assert error_response(NotFound("unknown community 'x'")).status_code == 404
    assert error_response(ServiceUnavailable("auth did not answer")).status_code == 503


def test_unauthorized_names_the_scheme():
    response = error_response(Unauthorized("missing or invalid API key"))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_unexpected_errors_leak_nothing():
    response = error_response(RuntimeError("password=hunter2 at /srv/secret.py line 3"))
    assert response.status_code == 500
    assert body(response) == {"error": "internal_error", "message": "internal error; please try again later"}
    assert b"hunter2" not in response.get_data()


def test_werkzeug_errors_become_the_same_json_shape():
    assert error_response(RequestEntityTooLarge()).status_code == 413
    assert body(error_response(HttpNotFound()))["error"] == "not_found"


def test_every_response_says_nosniff():
    assert error_response(InvalidInput("x")).headers["X-Content-Type-Options"] == "nosniff"


def test_every_error_has_its_status_in_the_one_table():
    from services.gateway import errors as gateway_errors
    from shared import errors as shared_errors

    classes = {cls for module in (shared_errors, gateway_errors) for cls in vars(module).values()
               if isinstance(cls, type) and issubclass(cls, DomainError) and cls is not DomainError}
    assert classes - set(STATUS) == set()
    assert not any("status" in vars(cls) for cls in classes)  # the table is the one place


def test_a_page_and_the_api_answer_the_same_status():
    for error in (CsrfFailed("x"), LengthRequired("x"), UploadStalled("x"), Gone("x", reason="manager")):
        assert error_response(error).status_code == status_of(error) == STATUS[type(error)]
