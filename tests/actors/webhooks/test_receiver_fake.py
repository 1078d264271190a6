"""The webhook receiver fake does what its docstring promises: the tests and the
benchmarks of deliveries lean on its script and its records."""

from __future__ import annotations

import httpx

from tests.fakes.webhook_receiver import Reply, WebhookReceiver, fail, gone


def test_a_request_takes_its_paths_script_then_any_script_then_its_route() -> None:
    with WebhookReceiver() as receiver, httpx.Client(base_url=receiver.url("")) as http:
        receiver.routes["/a"] = gone()
        receiver.script(fail(503), path="/a")
        receiver.script(fail(500))

        statuses = [http.post(path, content=b"{}").status_code for path in ("/b", "/a", "/a", "/b")]

    assert statuses == [500, 503, 410, 200]


def test_every_request_is_recorded_as_it_came() -> None:
    with WebhookReceiver() as receiver, httpx.Client() as http:
        receiver.default = Reply(204)
        http.post(receiver.url("/hook?x=1"), content=b'{"a": 1}', headers={"Webhook-Id": "e1"})
        http.post(receiver.url("/hook"), content=b"")

    first, second = receiver.requests
    assert (first.method, first.path, first.json()) == ("POST", "/hook?x=1", {"a": 1})
    assert first.headers["webhook-id"] == "e1" and first.at <= second.at
    assert (second.body, second.connection, receiver.connections) == (b"", 1, 1)
