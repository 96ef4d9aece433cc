"""The API documentation works without reaching any CDN (offices often have no internet)."""

import re


async def test_docs_page_loads_its_scripts_from_this_server(client):
    page = await client.get("/api/v1/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page.text)
    assert sources and all(s.startswith("/api/v1/docs-static/") for s in sources)
    for source in sources:
        assert (await client.get(source)).status_code == 200
    assert (await client.get("/api/v1/openapi.json")).json()["info"]["title"] == "Viza API"
