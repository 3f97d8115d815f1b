"""The price book: the partner's exported price list (CSV), read and validated like every other input.

Format (FORMAT.md section 3, `price_book:` in reconciler.yaml): a header naming the columns
`product,category,term,price,currency` (in any order), then one row per product and term.
Licenses use their portal codes (PBX-BASIC, UC-ESSENTIAL, ...); the hardware PBX (WPBX-HW)
is a one-off purchase with term `once`; HWaaS devices carry their catalog category
(phones, headsets, ...), which makes the price book the product catalog. Lines starting
with `#` are comments, blank lines are skipped.

Every problem is collected as a diagnostic with rule id `price-book` and a position
`file:line:column`, where the column is the CSV field's number (as a spreadsheet counts
columns), not a character offset; only a file that is not UTF-8 text is pointed at by the
character, as for every other file. Prices are `decimal.Decimal`, never floats.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from reconciler.diagnostics import Diagnostic, Position, error, quoted
from reconciler.domain import PROFILE_CODES
from reconciler.facts import FREE_PRODUCT, HARDWARE_PBX_PRODUCT, TERMS as SUBSCRIPTION_TERMS
from reconciler.yamlio import read_text

RULE = "price-book"
COLUMNS = ("product", "category", "term", "price", "currency")
TERMS = (*SUBSCRIPTION_TERMS, "once")
LICENSE_CODES = frozenset(PROFILE_CODES.values())
HARDWARE_PBX = HARDWARE_PBX_PRODUCT  # the hardware PBX, bought once
PRICE = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
PRICE_DIGITS = (12, 8)  # before and after the point: sums stay exact within Decimal's 28 digits
CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class PriceBook:
    """Prices by (product, term), in one currency, and each product's category."""

    currency: str
    prices: dict[tuple[str, str], Decimal]
    categories: dict[str, str]

    def price(self, product: str, term: str) -> Decimal | None:
        """The price of one unit for one term; None: not in the book. PBX-SERVICE is free, listed or not."""
        if product == FREE_PRODUCT:
            return Decimal("0.00")
        return self.prices.get((product, term))

    def catalog(self) -> dict[str, list[str]]:
        """The HWaaS products by category: every product but the licenses and the hardware PBX."""
        found: dict[str, list[str]] = {}
        for product, category in sorted(self.categories.items()):
            if product not in LICENSE_CODES and product != HARDWARE_PBX:
                found.setdefault(category, []).append(product)
        return found

    def products(self) -> set[str]:
        return {product for products in self.catalog().values() for product in products}


def load_price_book(path: Path, display: str | None = None) -> tuple[PriceBook | None, list[Diagnostic]]:
    """Read and validate the price book at `path`; None when it has any error."""
    display = display if display is not None else str(path)
    text, problems = read_text(path, display)
    if text is None:
        # read_text speaks of YAML (it reads the YAML files too): the same checks, in the price book's words
        return None, [dataclasses.replace(d, rule=RULE, message=d.message.replace("YAML", "CSV")) for d in problems]
    return parse_price_book(text, display)


def parse_price_book(text: str, display: str) -> tuple[PriceBook | None, list[Diagnostic]]:
    """Parse the CSV text of a price book; every problem is reported, the book is None if there is one."""
    records, problems = _records(text.removeprefix("\ufeff"), display)
    rows = [(line, row) for line, row in records if not row[0].startswith("#")]
    if not rows and not problems:
        problems = [error(Position(display), RULE, "the price book is empty: expected a header line "
                                                   f"{','.join(COLUMNS)} and a row per product and term")]
    if problems:
        return None, problems
    (header_line, header), body = rows[0], rows[1:]
    index, problems = _header(header, header_line, display)
    if problems:
        return None, problems
    if not body:
        return None, [error(Position(display, header_line), RULE, "the price book has a header but no prices")]
    reader = _Rows(display, index)
    for line, row in body:
        reader.add(line, row)
    if reader.problems:
        return None, reader.problems
    return PriceBook(reader.currency or "", reader.prices, reader.categories), []


def _records(text: str, display: str) -> tuple[list[tuple[int, list[str]]], list[Diagnostic]]:
    """(first line number, stripped fields) of each non-blank CSV record, or why the CSV cannot be read."""
    reader = csv.reader(text.splitlines(keepends=True))
    records = []
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return records, []
        except csv.Error as exc:
            return records, [error(Position(display, start), RULE, f"unreadable CSV: {exc}")]
        if any(field.strip() for field in row):
            records.append((start, [field.strip() for field in row]))


def _header(header: list[str], line: int, display: str) -> tuple[dict[str, int], list[Diagnostic]]:
    """Column name -> field index, and the header's problems (unknown, duplicate or missing columns)."""
    names = [name.lower() for name in header]
    if len(names) == 1 and ";" in names[0]:
        return {}, [error(Position(display, line, 1), RULE,
                          "the header has one column: separate the columns with commas, not semicolons")]
    if not set(names) & set(COLUMNS):  # not a price book at all: say so, and quote nothing of the line
        return {}, [error(Position(display, line), RULE, "the first line is not a price book's header: expected "
                                                         f"the columns {','.join(COLUMNS)}")]
    index: dict[str, int] = {}
    problems, suggested = [], set()
    for number, name in enumerate(names):
        where = Position(display, line, number + 1)
        if name in index:
            problems.append(error(where, RULE, f"duplicate column {quoted(name)}"))
        elif name in COLUMNS:
            index[name] = number
        else:
            close = difflib.get_close_matches(name, [c for c in COLUMNS if c not in names], n=1, cutoff=0.6)
            suggested.update(close)
            hint = f": did you mean '{close[0]}'?" if close else f" (the columns are {', '.join(COLUMNS)})"
            problems.append(error(where, RULE, f"unknown column {quoted(name)}{hint}"))
    problems += [error(Position(display, line), RULE, f"missing column '{name}' (the header names "
                                                      f"{', '.join(COLUMNS)})")
                 for name in COLUMNS if name not in index and name not in suggested]
    return index, problems


class _Rows:
    """Checks the rows one by one, remembering what earlier rows said (currency, duplicates, categories)."""

    def __init__(self, display: str, index: dict[str, int]):
        self.display, self.index = display, index
        self.problems: list[Diagnostic] = []
        self.prices: dict[tuple[str, str], Decimal] = {}
        self.categories: dict[str, str] = {}
        self.first_line: dict[tuple[str, str], int] = {}
        self.category_line: dict[str, int] = {}
        self.currency: str | None = None
        self.currency_line = 0

    def _error(self, line: int, column: str | None, message: str) -> None:
        number = self.index[column] + 1 if column else None
        self.problems.append(error(Position(self.display, line, number), RULE, message))

    def add(self, line: int, row: list[str]) -> None:
        if len(row) != len(self.index):
            self._error(line, None, f"expected {len(self.index)} fields ({','.join(COLUMNS)}), found {len(row)}")
            return
        field = {name: row[number] for name, number in self.index.items()}
        product, category, term = field["product"], field["category"], field["term"]
        ok = all([self._required(line, field, "product"), self._required(line, field, "category"),
                  self._term(line, product, term), self._currency(line, field["currency"])])
        price = self._price(line, product, field["price"])
        if not ok or price is None:
            return
        key = (product, term)
        if key in self.first_line:
            self._error(line, "term", f"duplicate price for {product} {term} (first on line {self.first_line[key]})")
            return
        if self.categories.get(product, category) != category:
            self._error(line, "category", f"{product} is in category '{self.categories[product]}' on line "
                                          f"{self.category_line[product]}: a product has one category")
            return
        self.first_line[key] = line
        self.prices[key] = price
        self.categories.setdefault(product, category)
        self.category_line.setdefault(product, line)

    def _required(self, line: int, field: dict, column: str) -> bool:
        if not field[column]:
            self._error(line, column, f"empty {column}")
            return False
        return True

    def _term(self, line: int, product: str, term: str) -> bool:
        if term not in TERMS:
            close = difflib.get_close_matches(term, TERMS, n=1, cutoff=0.5)
            hint = f": did you mean '{close[0]}'?" if close else f": expected one of {', '.join(TERMS)}"
            self._error(line, "term", f"unknown term {quoted(term)}{hint}")
            return False
        if product in LICENSE_CODES and term == "once":
            self._error(line, "term", f"{product} is a license: its term is one of {', '.join(SUBSCRIPTION_TERMS)}, "
                                      "not once")
            return False
        if product == HARDWARE_PBX and term != "once":
            self._error(line, "term", f"{HARDWARE_PBX} (the hardware PBX) is a one-off purchase: its term is once")
            return False
        return True

    def _price(self, line: int, product: str, text: str) -> Decimal | None:
        if not PRICE.match(text):
            hint = " (use a point as the decimal separator)" if re.match(r"^-?[0-9]+,[0-9]+$", text) else ""
            self._error(line, "price", f"price {quoted(text)} is not a number such as 12.50{hint}")
            return None
        whole, _, fraction = text.lstrip("-").partition(".")
        if len(whole.lstrip("0")) > PRICE_DIGITS[0] or len(fraction) > PRICE_DIGITS[1]:
            self._error(line, "price", f"price {quoted(text)} has too many digits: at most {PRICE_DIGITS[0]} "
                                       f"before the point and {PRICE_DIGITS[1]} after it")
            return None
        price = Decimal(text)
        if price < 0:
            self._error(line, "price", f"negative price {text}")
            return None
        if product == FREE_PRODUCT and price != 0:
            self._error(line, "price", f"{FREE_PRODUCT} is free of charge: its price is 0, not {text}")
            return None
        return price if price.as_tuple().exponent <= -2 else price.quantize(Decimal("0.01"))  # 12 -> 12.00

    def _currency(self, line: int, currency: str) -> bool:
        if not CURRENCY.match(currency):
            self._error(line, "currency", f"currency {quoted(currency)} is not a three-letter code such as EUR")
            return False
        if self.currency is None:
            self.currency, self.currency_line = currency, line
        elif currency != self.currency:
            self._error(line, "currency", f"currency {currency} differs from {self.currency} on line "
                                          f"{self.currency_line}: a price book has one currency")
            return False
        return True
