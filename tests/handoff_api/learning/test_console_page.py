"""The knowledge editors' page: served like the console, with its script and no inline code."""

from __future__ import annotations

from starlette.testclient import TestClient


def test_learning_page_and_assets_are_served(client: TestClient) -> None:
    page = client.get("/console/learning")
    assert page.status_code == 200
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert "<script>" not in page.text and 'src="/console/static/learning.js"' in page.text
    assert "待审核" in page.text and "知识缺口" in page.text and "起草FAQ" in page.text
    script = client.get("/console/static/learning.js")
    assert script.status_code == 200 and "learningDecide" in script.text
    assert client.get("/console/static/learning.css").status_code == 200
    console = client.get("/console")
    assert 'href="/console/learning"' in console.text and 'id="resolve-faq"' in console.text
    assert "learningLabel" in client.get("/console/static/api.js").text
