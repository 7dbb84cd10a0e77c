"""RowURL (app/urls.py): a table's per-row link built once is url_for's own answer for each row."""
from flask import url_for

from app.urls import RowURL


def test_a_row_url_is_url_for_for_every_row(app):
    with app.test_request_context("/", base_url="https://city.example/procomun"):
        proof = RowURL("books.transfer", "transfer_id")
        leaf = RowURL("books.transfer_leaf", "transfer_id")
        statement = RowURL("vouchers.statement_csv", "slug", settlement_id=12)
        for transfer_id in (1, 9, 918273645, 2**62):
            assert proof(transfer_id) == url_for("books.transfer", transfer_id=transfer_id)
            assert leaf(transfer_id) == url_for("books.transfer_leaf", transfer_id=transfer_id)
        for slug in ("la-tela", "coop-7"):
            assert statement(slug) == url_for("vouchers.statement_csv", settlement_id=12, slug=slug)
        assert proof(5).startswith("/procomun/")
        # A value is a path segment: what would leave it is quoted, not followed.
        assert statement("../x?y") == "/procomun/vouchers/settlements/12/..%2Fx%3Fy.csv"
