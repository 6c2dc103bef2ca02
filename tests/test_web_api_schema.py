"""The API's own OpenAPI document, exercised by schemathesis against a running server: no 5xx."""
from __future__ import annotations

import os
import socket
import threading
import time

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from onionwatch.accounts import Accounts  # noqa: E402
from onionwatch.web.app import accounts_db, create_app  # noqa: E402
from webdata import build  # noqa: E402

STATE: dict = {}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    import uvicorn

    data = build(tmp_path_factory.mktemp("api") / "data")
    accounts = Accounts(accounts_db(data.config))
    token = accounts.create_token("admin1", "schemathesis")[1]  # admin: every operation is reachable
    accounts.close()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(data.config), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    STATE.update(base=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"})
    yield schemathesis.openapi.from_url(f"{STATE['base']}/api/openapi.json", headers=STATE["headers"])
    server.should_exit = True
    thread.join(10)


# Examples per operation: a few in every test run; ONIONWATCH_FUZZ_EXAMPLES=500 for a deeper search.
EXAMPLES = int(os.environ.get("ONIONWATCH_FUZZ_EXAMPLES", "12"))


def test_api_answers_every_generated_request_without_a_server_error(api_schema):
    # schemathesis' own pytest plugin does not load under pytest 9 yet, so each operation's
    # strategy is driven by hypothesis here: bounded examples per operation, all of them run.
    from hypothesis import given

    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15
    failures = []
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def exercise(case):
            case.call_and_validate(base_url=STATE["base"], headers=STATE["headers"], checks=[not_a_server_error])

        try:
            exercise()
        except Exception as exc:  # collect every operation's failure, then fail once with all of them
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n".join(failures)
