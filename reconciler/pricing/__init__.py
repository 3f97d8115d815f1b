"""Costs in the plan: the price book (CSV), proration to the PBX's expiry, and the totals.

`book` reads and validates the partner's price book; `proration` holds the date and
money arithmetic; `costs` prices each step of an ordered plan; `totals` sums them per
customer and for the whole plan. All of it is pure but `load_price_book`, which reads
the file; the workflow loads the book and the planner calls `price_plan` at its end.
"""

from reconciler.pricing.book import PriceBook, load_price_book, parse_price_book

__all__ = ["PriceBook", "load_price_book", "parse_price_book"]
