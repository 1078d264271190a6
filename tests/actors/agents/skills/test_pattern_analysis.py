"""pattern_analysis over results shaped like web_scraping's and data_collection's."""

from __future__ import annotations

from typing import Any

import pytest

from actors.agents.skills import SKILLS
from actors.errors import InvalidParameter

from .test_vulnerability_scanning import SCOPES, _quiet

CRAWL = {
    "target": "http://site.test/",
    "emails": [
        {"email": "Info@site.test", "pages": ["http://site.test/"], "count": 1},
        {"email": "jane.doe@site.test", "pages": ["http://site.test/team"], "count": 1},
        {"email": "billing@partner.test", "pages": ["http://site.test/pay"], "count": 1},
    ],
    "phones": [{"number": "+12025550143", "pages": ["http://site.test/"], "count": 1}],
    "links": {"internal": 3, "external": ["https://mail.site.test/login", "https://cdn.test/x"]},
}
COLLECTED = {
    "target": "site.test",
    "records": [
        {"type": "MX", "status": "ok", "values": ["10 mail.site.test"]},
        {"type": "NS", "status": "ok", "values": ["ns1.site.test"]},
    ],
    "certificates": [
        {"address": "127.0.0.1", "port": 443, "names": ["site.test", "mail.site.test"]},
        {"address": "127.0.0.2", "port": 443, "names": ["mail.site.test", "site.test"]},
    ],
}


async def _run(parameters: dict[str, Any], tasks: dict[str, Any]) -> dict[str, Any]:
    async def read_task(task_id: str) -> dict[str, Any] | None:
        return tasks.get(task_id)

    return await SKILLS["pattern_analysis"](parameters, _quiet, SCOPES, read_task)


async def test_entities_across_a_crawl_and_a_collection() -> None:
    tasks = {
        "task-crawl": {"task_type": "web_scraping", "status": "completed", "result": CRAWL},
        "task-dns": {"task_type": "data_collection", "status": "completed", "result": COLLECTED},
    }
    result = await _run({"task_ids": ["task-crawl", "task-dns", "task-nope"]}, tasks)

    assert result["domain"] == "site.test"
    by_domain = result["emails_by_domain"]
    site = {e["email"]: (e["kind"], e["affiliate"]) for e in by_domain["site.test"]}
    assert site == {"info@site.test": ("generic", False), "jane.doe@site.test": ("personal", False)}
    [partner] = by_domain["partner.test"]
    assert (partner["kind"], partner["affiliate"]) == ("generic", True)
    assert result["phones"] == [{"value": "+12025550143", "seen_on": ["http://site.test/"]}]
    shared = {h["value"]: h["seen_on"] for h in result["shared_hosts"]}
    assert shared["mail.site.test"] == [
        "task-crawl: link", "task-dns: MX", "task-dns: certificate",
    ]  # fmt: skip
    assert "cdn.test" not in shared  # seen once
    [cert] = result["certificates"]
    assert cert == {
        "value": "mail.site.test, site.test",
        "seen_on": ["127.0.0.1:443", "127.0.0.2:443"],
    }
    assert result["sources"] == {
        "task-crawl": "used (web_scraping)",
        "task-dns": "used (data_collection)",
        "task-nope": "unknown task",
    }


def test_nothing_to_analyse_is_a_400_naming_the_parameter() -> None:
    with pytest.raises(InvalidParameter) as refused:
        SKILLS["pattern_analysis"].validate({}, SCOPES)
    assert refused.value.name == "task_ids"
