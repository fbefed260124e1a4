"""The web app and the selection API on a real library with the real model; the pages are
used signed in, as a rep."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from api.app import create_app
from api.settings import Settings
from engine import parse_prospect
from tests.api.conftest import new_key
from tests.api.test_sign_in import csrf_token, new_user, sign_in
from tests.conftest import make_settings
from tests.factories import write_library

pytestmark = pytest.mark.slow

BLOCKS = [
    {"id": "v-fuel", "slot": "value", "title": "Cut diesel spend", "body": "Idle alerts cut fuel."},
    {"id": "v-safety", "slot": "value", "title": "Safer drivers", "body": "Coach harsh braking."},
    {"id": "p-fleet", "slot": "proof", "title": "Acme <b>saved</b>", "body": "12% less diesel."},
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:  # type: ignore[type-arg]
    root = tmp_path_factory.mktemp("app")
    library = write_library(root / "lib", BLOCKS)
    demo = (parse_prospect({"id": "p-demo", "company": "Demo Freight", "needs": "Diesel costs."}),)
    settings = make_settings(root / "data")
    with TestClient(create_app(settings, library, demo)) as test_client:
        key = asyncio.run(new_key(settings.database_url, "rep", "Riley"))
        test_client.headers["Authorization"] = f"Bearer {key}"
        asyncio.run(new_user(settings.database_url, "riley@vendor.example", "rep"))
        assert sign_in(test_client, "riley@vendor.example").status_code == 303
        yield test_client


def test_select_answers_the_cli_json_shape(client: TestClient) -> None:  # type: ignore[type-arg]
    body = {"prospect": {"id": "p-1", "company": "Northwind", "needs": "Diesel is too expensive."}}
    response = client.post("/api/select", json={**body, "as_of": "2026-11-24"})
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"prospect", "sections", "gaps", "unanswered_needs", "alternatives"}
    assert data["gaps"] == ["opening"]
    assert [s["slot"] for s in data["sections"]] == ["value", "value", "proof"]
    assert data["sections"][0]["block_id"] == "v-fuel"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prospect": {"id": "p-1"}}, "company"),
        ({"prospect": {"id": "Bad Id", "company": "X"}}, "id"),
        ({"prospect": {"id": "p-1", "company": "X"}, "as_of": "2026-02-30"}, "as_of"),
        ({"prospect": "nope"}, "prospect"),
        ({}, "prospect"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(client: TestClient, body: object, field: str) -> None:  # type: ignore[type-arg]
    response = client.post("/api/select", json=body)
    assert response.status_code == 400
    assert field in [p["field"] for p in response.json()["problems"]]


def test_a_body_that_is_not_json_is_a_400(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.post(
        "/api/select", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400


def test_pages_list_demo_prospects_and_escape_block_text(client: TestClient) -> None:  # type: ignore[type-arg]
    home = client.get("/")
    assert home.status_code == 200
    assert "Signed in as <strong>riley@vendor.example</strong>" in home.text
    assert 'href="/prospects/p-demo"' in home.text
    page = client.get("/prospects/p-demo")
    assert page.status_code == 200
    assert "Cut diesel spend" in page.text
    assert "Acme &lt;b&gt;saved&lt;/b&gt;" in page.text
    assert client.get("/prospects/p-nobody").status_code == 404


def test_the_form_selects_for_a_new_prospect(client: TestClient) -> None:  # type: ignore[type-arg]
    form = {
        "company": "<script>x</script> Haulage",
        "needs": "Drivers brake too hard.",
        "_csrf_token": csrf_token(client),
    }
    page = client.post("/select", data=form)
    assert page.status_code == 200
    assert "&lt;script&gt;x&lt;/script&gt; Haulage" in page.text
    assert "<script>x" not in page.text
    assert "Safer drivers" in page.text


def test_pages_load_nothing_from_another_origin(client: TestClient) -> None:  # type: ignore[type-arg]
    for path in ("/", "/prospects/p-demo"):
        page = client.get(path).text
        assert '<link rel="stylesheet" href="/static/app.css">' in page
        assert not re.search(r"""(src|href|action)=["']?(https?:)?//""", page), path
        assert "<script" not in page and " style=" not in page and "<style" not in page
    css = client.get("/static/app.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    assert "url(" not in css.text and "@import" not in css.text


def test_without_a_library_selection_is_a_409(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    with TestClient(create_app(settings)) as bare:
        key = asyncio.run(new_key(settings.database_url, "rep", "Riley"))
        auth = {"Authorization": f"Bearer {key}"}
        body = {"prospect": {"id": "p", "company": "X"}}
        selection = bare.post("/api/select", json=body, headers=auth)
        document = bare.post("/api/documents", json=body, headers=auth)
    for response in (selection, document):
        assert response.status_code == 409
        assert "no library" in response.json()["detail"]


def test_the_internal_api_refuses_a_request_without_a_key(client: TestClient) -> None:  # type: ignore[type-arg]
    body = {"prospect": {"id": "p-1", "company": "Northwind"}}
    response = client.post("/api/select", json=body, headers={"Authorization": ""})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_openapi_schema_is_published(client: TestClient) -> None:  # type: ignore[type-arg]
    schema = client.get("/schema/openapi.json").json()
    assert "/api/select" in schema["paths"]


def test_a_model_cache_keeps_the_onnx_export_out_of_the_data_folder(
    tmp_path: Path, model_cache: Path
) -> None:
    env = {"PITCHMAP_DATA_DIR": str(tmp_path / "data"), "PITCHMAP_MODEL_CACHE": str(model_cache)}
    embedder = Settings.from_env(env).new_embedder()
    assert embedder.encode_queries(["diesel costs"]).shape == (1, embedder.dimension)
    assert (model_cache / "onnx" / f"{embedder.key}.onnx").is_file()
    assert not (tmp_path / "data").exists()
    alone = Settings.from_env({"PITCHMAP_DATA_DIR": str(tmp_path / "alone")}).new_embedder()
    assert alone.cache_dir == tmp_path / "alone"
