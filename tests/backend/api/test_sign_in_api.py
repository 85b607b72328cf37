"""Signing in on the page (`/auth`): the token goes into an HttpOnly, SameSite=Strict cookie
that only the page's own API client turns into a Bearer header; the API itself never takes
the cookie. `/api/access` says what a request's own credentials allow."""

import pytest

from tests.backend.api.conftest import Server

TOKEN = "sign-in-token-8e2a61"
JOB = {"kind": "train", "config": {"epochs": 50, "device": "cpu", "analyze": False}}
COOKIE = {"Cookie": f"semvec-token={TOKEN}"}


@pytest.fixture(scope="module")
def token_server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("sign-in"), SEMVEC_TOKEN=TOKEN).start()
    yield server
    server.stop()


def _cookie_attributes(set_cookie: str) -> dict[str, str]:
    parts = [p.strip() for p in set_cookie.split(";")]
    return {k.lower(): v for k, _, v in (p.partition("=") for p in parts)}


def test_the_right_token_sets_a_strict_http_only_cookie_and_goes_on(token_server):
    with token_server.client() as client:
        link = client.get("/auth", params={"token": TOKEN, "next": "/runs?x=1"})
        form = client.post("/auth", data={"token": TOKEN, "next": "/distill"})
        https = client.get("/auth", params={"token": TOKEN}, headers={"X-Forwarded-Proto": "https"})
    assert (link.status_code, link.headers["location"]) == (303, "/runs?x=1")
    assert (form.status_code, form.headers["location"]) == (303, "/distill")
    for answer in (link, form):
        cookie = _cookie_attributes(answer.headers["set-cookie"])
        assert cookie["semvec-token"] == TOKEN
        assert "httponly" in cookie and cookie["samesite"].lower() == "strict"
        assert cookie["path"] == "/" and "secure" not in cookie  # plain http: not Secure
    # Behind an https proxy on this machine (uvicorn trusts loopback's X-Forwarded-Proto).
    assert "secure" in _cookie_attributes(https.headers["set-cookie"])


def test_a_wrong_token_answers_401_with_the_form_and_no_cookie(token_server):
    with token_server.client() as client:
        page = client.get("/auth", params={"next": "/runs"})
        wrong_link = client.get("/auth", params={"token": TOKEN + "x", "next": "/runs"})
        wrong_form = client.post("/auth", data={"token": "", "next": "/runs"})
    assert page.status_code == 200 and 'name="token"' in page.text
    assert 'name="next" value="/runs"' in page.text and "Wrong token" not in page.text
    for wrong in (wrong_link, wrong_form):
        assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
        assert "Wrong token" in wrong.text and 'name="token"' in wrong.text


@pytest.mark.parametrize(
    "target",
    ["//evil.com", "http://evil.com", "https://evil.com/runs", "/\\evil.com", "javascript:x", ""],
)
def test_sign_in_and_out_redirect_only_to_a_local_path(token_server, target):
    with token_server.client() as client:
        signed_in = client.get("/auth", params={"token": TOKEN, "next": target})
        by_form = client.post("/auth", data={"token": TOKEN, "next": target})
        signed_out = client.get("/auth/logout", params={"next": target})
        form = client.get("/auth", params={"next": target})
    for answer in (signed_in, by_form, signed_out):
        assert (answer.status_code, answer.headers["location"]) == (303, "/")
    assert 'name="next" value="/"' in form.text  # the form does not carry it on either


def test_sign_out_clears_the_cookie(token_server):
    with token_server.client() as client:
        answer = client.get("/auth/logout", params={"next": "/runs"}, headers=COOKIE)
    assert (answer.status_code, answer.headers["location"]) == (303, "/runs")
    cookie = _cookie_attributes(answer.headers["set-cookie"])
    assert cookie["semvec-token"] in ("", '""') and cookie["max-age"] == "0"
    assert cookie["path"] == "/"


def test_access_says_what_the_request_itself_may_do(token_server, server):
    with token_server.client() as client:
        signed_out = client.get("/api/access").json()
        with_header = client.get("/api/access", headers={"Authorization": f"Bearer {TOKEN}"})
        wrong = client.get("/api/access", headers={"Authorization": "Bearer nope"}).json()
        cookie_only = client.get("/api/access", headers=COOKIE).json()
    assert signed_out == {"token_required": True, "can_write": False}
    assert with_header.json() == {"token_required": True, "can_write": True}
    assert wrong == cookie_only == {"token_required": True, "can_write": False}
    with server.client() as client:  # no token: loopback writes, as before
        assert client.get("/api/access").json() == {"token_required": False, "can_write": True}


def test_a_cookie_alone_does_not_authorize_an_api_write(token_server):
    """Only the page's client turns the cookie into a header; a request straight to the API
    (which a cross-site page could make the browser send) is judged by its header alone."""
    with token_server.client() as client:
        answer = client.post("/api/jobs", json=JOB, headers=COOKIE)
        assert answer.status_code == 401
        assert client.delete("/api/jobs/1", headers=COOKIE).status_code == 401
        assert client.post("/api/checkpoints", content=b"x", headers=COOKIE).status_code == 401
        assert client.get("/api/jobs").json()["count"] == 0


def test_without_a_server_token_sign_in_just_goes_on(server):
    with server.client() as client:
        answer = client.get("/auth", params={"token": "anything", "next": "/runs"})
        form = client.get("/auth", params={"next": "//evil.com"})
    assert (answer.status_code, answer.headers["location"]) == (303, "/runs")
    assert "set-cookie" not in answer.headers
    assert (form.status_code, form.headers["location"]) == (303, "/")
