"""Refusals about a voucher's dates write the dates as the reader does ("che termina il 31
dicembre 2027"), never in ISO form ("2027-12-31")."""
from datetime import timedelta

import pytest
from flask_babel import force_locale

from app.errors import Invalid
from vouchers import issuance

from ..formats import raw_forms


def test_a_voucher_outliving_its_programme_is_told_the_end_in_words(app, city):
    end = city.programme.valid_until
    with app.test_request_context(), force_locale("it"):
        with pytest.raises(Invalid) as refused:
            issuance.issue_voucher(city.programme, city.citizen, 1000, actor=city.official,
                                   valid_until=end + timedelta(days=1))
        message = str(refused.value.message)
    assert "termina il" in message and str(end.year) in message and raw_forms(message) == []
