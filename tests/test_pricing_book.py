"""The price book (CSV) is validated like every other input: every problem, with its line, column and rule id.

The column of a CSV diagnostic is the field's number (product 1, category 2, term 3,
price 4, currency 5 in the usual header), as a spreadsheet counts columns.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from reconciler.cli import main
from reconciler.plan.build import HARDWARE_PBX_PRODUCT
from reconciler.pricing.book import HARDWARE_PBX, load_price_book, parse_price_book
from tests.test_validate_cli import SNAPSHOT, customer, write

HEADER = "product,category,term,price,currency\n"
GOOD = HEADER + "PBX-BASIC,licenses,1y,20.00,EUR\nUC-ESSENTIAL,licenses,1y,50.00,EUR\n"


def problems(text: str) -> list[tuple[int | None, int | None, str]]:
    book, found = parse_price_book(text, "pricebook.csv")
    assert (book is None) == bool(found)
    assert all(d.rule == "price-book" and d.severity.value == "error" for d in found)
    return [(d.line, d.column, d.message) for d in found]


CASES = {
    "missing column": (
        "product,category,term,price\nPBX-BASIC,licenses,1y,20.00\n",
        [(1, None, "missing column 'currency' (the header names product, category, term, price, currency)")]),
    "unknown column, with a hint instead of 'missing'": (
        "product,category,term,prise,currency\n",
        [(1, 4, "unknown column 'prise': did you mean 'price'?")]),
    "duplicate column": (
        "product,category,term,price,currency,price\n",
        [(1, 6, "duplicate column 'price'")]),
    "semicolons": (
        "product;category;term;price;currency\n",
        [(1, 1, "the header has one column: separate the columns with commas, not semicolons")]),
    "duplicate product and term": (
        GOOD + "PBX-BASIC,licenses,1y,21.00,EUR\n",
        [(4, 3, "duplicate price for PBX-BASIC 1y (first on line 2)")]),
    "unknown term": (
        HEADER + "PBX-BASIC,licenses,yearly,20.00,EUR\nPBX-BASIC,licenses,1Y,20.00,EUR\n",
        [(2, 3, "unknown term 'yearly': expected one of 1m, 1y, 5y, lifetime, once"),
         (3, 3, "unknown term '1Y': did you mean '1y'?")]),
    "negative price": (
        HEADER + "PBX-BASIC,licenses,1y,-3.00,EUR\n",
        [(2, 4, "negative price -3.00")]),
    "non-numeric prices": (
        HEADER + "PBX-BASIC,licenses,1m,12,50,EUR\n"  # an unquoted decimal comma: six fields
                 "PBX-BASIC,licenses,1y,\"12,50\",EUR\nPBX-BASIC,licenses,5y,abc,EUR\n"
                 "PBX-BASIC,licenses,lifetime,NaN,EUR\nUC-BUSINESS,licenses,1y,1e3,EUR\nUC-PREMIUM,licenses,1y,,EUR\n",
        [(2, None, "expected 5 fields (product,category,term,price,currency), found 6"),
         (3, 4, "price '12,50' is not a number such as 12.50 (use a point as the decimal separator)"),
         (4, 4, "price 'abc' is not a number such as 12.50"),
         (5, 4, "price 'NaN' is not a number such as 12.50"),
         (6, 4, "price '1e3' is not a number such as 12.50"),
         (7, 4, "price '' is not a number such as 12.50")]),
    "mixed currencies": (
        GOOD + "UC-PREMIUM,licenses,1y,110.00,USD\nUC-BUSINESS,licenses,1y,80.00,euro\n",
        [(4, 5, "currency USD differs from EUR on line 2: a price book has one currency"),
         (5, 5, "currency 'euro' is not a three-letter code such as EUR")]),
    "empty file": ("", [(None, None, "the price book is empty: expected a header line "
                                     "product,category,term,price,currency and a row per product and term")]),
    "only comments and blank lines": ("# prices\n\n   \n", [(None, None, "the price book is empty: expected a "
                                                                         "header line product,category,term,price,"
                                                                         "currency and a row per product and term")]),
    "a header and no prices": (HEADER, [(1, None, "the price book has a header but no prices")]),
    "empty fields": (
        HEADER + ",licenses,1y,20.00,EUR\nPBX-BASIC,,1y,20.00,EUR\n",
        [(2, 1, "empty product"), (3, 2, "empty category")]),
    "a product in two categories": (
        HEADER + "WorkForce,phones,1y,60.00,EUR\nWorkForce,headsets,1m,6.00,EUR\n",
        [(3, 2, "WorkForce is in category 'phones' on line 2: a product has one category")]),
    "terms that make no sense for the product": (
        HEADER + "PBX-BASIC,licenses,once,20.00,EUR\nWPBX-HW,pbx,1y,650.00,EUR\n",
        [(2, 3, "PBX-BASIC is a license: its term is one of 1m, 1y, 5y, lifetime, not once"),
         (3, 3, "WPBX-HW (the hardware PBX) is a one-off purchase: its term is once")]),
    "PBX-SERVICE is free": (
        HEADER + "PBX-SERVICE,licenses,1y,1.00,EUR\n",
        [(2, 4, "PBX-SERVICE is free of charge: its price is 0, not 1.00")]),
    "a price too large to compute with (the fuzz target's case 3666)": (
        HEADER + "PBX-BASIC,licenses,1y,9999999999999999999999999999999999999999,EUR\n"
                 "PBX-BASIC,licenses,1m,1.123456789,EUR\n",
        [(2, 4, "price '9999999999999999999999999999999999999999' has too many digits: at most 12 before the "
                "point and 8 after it"),
         (3, 4, "price '1.123456789' has too many digits: at most 12 before the point and 8 after it")]),
    "a header line that is no price book's is not quoted": (
        "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",
        [(1, None, "the first line is not a price book's header: expected the columns "
                   "product,category,term,price,currency")]),
    "every problem of every row": (
        HEADER + "PBX-BASIC,licenses,weekly,-1,EUR\n",
        [(2, 3, "unknown term 'weekly': expected one of 1m, 1y, 5y, lifetime, once"),
         (2, 4, "negative price -1")]),
}


@pytest.mark.parametrize(("text", "expected"), CASES.values(), ids=list(CASES))
def test_price_book_validation(text, expected):
    assert problems(text) == expected


def test_the_diagnostic_reads_file_line_column():
    rows = "".join(f"UC-ESSENTIAL,licenses,{term},50.00,EUR\n" for term in ("1m", "1y", "5y", "lifetime"))
    text = "# made-up figures\n" + HEADER + rows + "PBX-BASIC,licenses,1y,-3.00,EUR\n"
    _, found = parse_price_book(text, "pricebook.csv")
    assert [d.format() for d in found] == ["pricebook.csv:7:4: error[price-book]: negative price -3.00"]


def test_not_utf8_and_binary_files(tmp_path):
    """Text problems point at the character (column 23: the byte after 'UC-ESSENTIAL,licences '), as for YAML."""
    latin = tmp_path / "latin.csv"
    latin.write_bytes(HEADER.encode() + "UC-ESSENTIAL,licences é,1y,50.00,EUR\n".encode("latin-1"))
    _, found = load_price_book(latin, "latin.csv")
    assert [d.format() for d in found] == [
        "latin.csv:2:23: error[price-book]: not UTF-8 text: byte 0xe9 cannot be decoded (save the file as UTF-8)"]
    binary = tmp_path / "book.xlsx"
    binary.write_bytes(b"PK\x03\x04\x00\x00binary")
    _, found = load_price_book(binary)
    assert [d.message for d in found] == ["binary file (it contains NUL bytes), not CSV text"]
    _, found = load_price_book(tmp_path / "missing.csv", "missing.csv")
    assert [(d.rule, d.message) for d in found] == [("price-book", "cannot read file: No such file or directory")]


def test_a_valid_book_any_column_order_comments_quotes_and_a_bom():
    text = ("\ufeff# made-up figures, not Wildix prices\n"
            "currency,price,term,category,product\n"
            "\n"
            "EUR,20,1y,licenses,PBX-BASIC\n"
            "EUR, 0.125 ,1m,licenses,UC-ESSENTIAL\n"
            'EUR,60.00,1y,phones,"WorkForce"\n'
            "EUR,25.00,1y,headsets,MonoLED\n"
            "EUR,650.00,once,pbx,WPBX-HW\n")
    book, found = parse_price_book(text, "pricebook.csv")
    assert found == []
    assert book.currency == "EUR"
    assert book.price("PBX-BASIC", "1y") == Decimal("20.00") and str(book.price("PBX-BASIC", "1y")) == "20.00"
    assert str(book.price("UC-ESSENTIAL", "1m")) == "0.125"  # the book's precision is kept
    assert book.price("PBX-BASIC", "5y") is None
    assert book.price("PBX-SERVICE", "1y") == 0  # free even when the book does not list it
    # the catalog: HWaaS products by category; licenses and the hardware PBX are not devices
    assert book.catalog() == {"headsets": ["MonoLED"], "phones": ["WorkForce"]}
    assert book.products() == {"MonoLED", "WorkForce"}


def test_the_hardware_pbx_code_is_the_planners():
    assert HARDWARE_PBX == HARDWARE_PBX_PRODUCT


def test_validate_reports_a_broken_price_book_with_positions(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, {"repo/reconciler.yaml": "price_book: prices/book.csv\n",
                     "repo/prices/book.csv": HEADER + "PBX-BASIC,licenses,1y,20.00,EUR\nPBX-BASIC,licenses,1y,-3,EUR\n",
                     "repo/customers/acme.yaml": customer("acme")})
    assert main(["validate", "repo"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == ["repo/prices/book.csv:3:4: error[price-book]: negative price -3", "3 files checked: 1 error."]


def test_validate_checks_hwaas_products_against_the_price_book(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    extra = "    licenses: {basic: 1}\n    hwaas: {WorkFroce: 2}\n"
    write(tmp_path, {"repo/reconciler.yaml": "price_book: book.csv\n",
                     "repo/book.csv": HEADER + "WorkForce,phones,1y,60.00,EUR\n",
                     "repo/customers/acme.yaml": customer("acme", extra=extra)})
    assert main(["validate", "repo"]) == 1
    err = capsys.readouterr().err
    assert "error[known-product]: product 'WorkFroce' is not in the catalog: did you mean 'WorkForce'?" in err


def test_plan_refuses_a_broken_price_book(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, {"repo/reconciler.yaml": "provider: {kind: snapshot, path: state.yaml}\nprice_book: book.csv\n",
                     "repo/book.csv": "",
                     "repo/state.yaml": SNAPSHOT,
                     "repo/customers/acme.yaml": customer("acme")})
    assert main(["plan", "repo"]) == 1
    err = capsys.readouterr().err
    assert "repo/book.csv: error[price-book]: the price book is empty" in err
    assert "nothing was planned" in err and "Traceback" not in err
