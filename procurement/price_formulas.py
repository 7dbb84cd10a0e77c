"""The published price formulas: how a price criterion turns the bids' prices into a score from 0
to 100, one chosen per tender when its criteria are set. A lower file that the evaluation, the
forms and the open data all read.

- proportional: 100 × lowest price ÷ price. The lowest price gets full marks and a price twice
  the lowest half of them.
- linear: 100 × (tender value − price) ÷ (tender value − lowest price), never below 0. The lowest
  price gets full marks and a price equal to the tender's value none; it spreads the marks more
  widely than the proportional formula when the prices are close.

The score shown is rounded half up to the hundredth; the weighted points are computed from the
exact ratio (a Fraction), so no rounding is compounded."""
from dataclasses import dataclass
from fractions import Fraction

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class PriceFormula:
    """A published way of turning the prices into a price score from 0 to 100. `ratio` gives the
    exact share of full marks (a Fraction from 0 to 1) from the bid's price, the lowest price and
    the tender's value."""
    name: str
    label: object
    rule: object     # the formula in words, shown to bidders
    english: str     # the same for the OCDS release, which is in English
    ratio: object


def _proportional(price: int, lowest: int, budget: int) -> Fraction:
    return Fraction(lowest, price)


def _linear(price: int, lowest: int, budget: int) -> Fraction:
    if budget <= lowest:  # nobody bid below the value: the lowest price alone has full marks
        return Fraction(1 if price == lowest else 0)
    return min(Fraction(1), max(Fraction(0), Fraction(budget - price, budget - lowest)))


PRICE_FORMULAS = {f.name: f for f in (
    PriceFormula("proportional", _l("Proportional to the lowest price"),
                 _l("The lowest price gets full marks, the others in proportion: marks × lowest price ÷ price."),
                 "marks × lowest price ÷ price", _proportional),
    PriceFormula("linear", _l("Linear between the tender's value and the lowest price"),
                 _l("The lowest price gets full marks and a price equal to the tender's value none, in a straight "
                    "line between: marks × (value − price) ÷ (value − lowest price)."),
                 "marks × (tender value − price) ÷ (tender value − lowest price)", _linear),
)}
DEFAULT_FORMULA = "proportional"


def formula_of(criterion) -> PriceFormula:
    """The criterion's formula (the proportional one on rows older than the choice)."""
    return PRICE_FORMULAS.get(criterion.formula or DEFAULT_FORMULA, PRICE_FORMULAS[DEFAULT_FORMULA])
