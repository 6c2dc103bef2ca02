"""The service layer's paging on the embedded index: cursors give every listing once, in id order,
whatever characters the ids hold; exports give every match once."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.embedded import EmbeddedIndex
from index.query import normalise_value
from onionwatch.config import Config
from onionwatch.service import Service, ServiceError

IDS = st.lists(st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=6),
               min_size=1, max_size=25, unique=True).map(
    # ids as the index keeps them (case-folded, spaces collapsed), as real ids (hex digests) are
    lambda ids: list(dict.fromkeys(normalise_value("listing_id", i) for i in ids if i.strip())) or ["x"])


def _listings(ids):
    return [{"listing_id": i, "market": "m", "title": f"item {n}", "drug": "cocaine" if n % 2 else "mdma",
             "captured_at": "2026-11-01T00:00:00Z"} for n, i in enumerate(ids)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ids=IDS, limit=st.integers(1, 7))
def test_cursor_pages_cover_every_id_once_in_order(tmp_path_factory, ids, limit):
    config = Config(data_dir=tmp_path_factory.mktemp("svc"), markets=())
    index = EmbeddedIndex(config.index_dir)
    index.upsert(_listings(ids))
    service = Service(config, index)
    seen, cursor = [], None
    while True:
        page = service.search_cursor("", limit, cursor)
        seen += [hit["listing_id"] for hit in page.hits]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == sorted(ids, key=lambda i: i.encode("utf-8"))
    assert sorted(h["listing_id"] for h in service.export("", batch=3)) == sorted(ids)
    assert len(list(service.export("drug:cocaine", batch=2))) == len(ids) // 2


def test_bad_query_and_bad_cursor_are_user_errors(tmp_path):
    service = Service(Config(data_dir=tmp_path, markets=()))
    for call in (lambda: service.search_cursor("drug:(", 5), lambda: service.search_cursor("", 5, "%%%"),
                 lambda: service.search_page("price_usd:[x TO"), lambda: service.facets("(")):
        try:
            call()
        except ServiceError as exc:
            assert "\n" not in str(exc).split("\n")[0]
        else:
            raise AssertionError("accepted")


def test_cursor_with_many_ids_sharing_a_long_prefix(tmp_path):
    ids = [f"sharedprefix{n:03d}" for n in range(60)]
    config = Config(data_dir=tmp_path, markets=())
    index = EmbeddedIndex(config.index_dir)
    index.upsert(_listings(ids))
    service = Service(config, index)
    seen, cursor = [], None
    while True:
        page = service.search_cursor("", 4, cursor)
        seen += [hit["listing_id"] for hit in page.hits]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == ids
