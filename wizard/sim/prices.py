"""The simulator's Azure Retail Prices API: a small bundled price table answered like
https://prices.azure.com/api/retail/prices (public, unauthenticated, OData ``$filter``).

    handle_prices(path, query) -> (status, headers, body bytes)

``query`` is ``urllib.parse.parse_qs`` output. The server routes GET ``/api/retail/prices`` here. Figures are
approximate public pay-as-you-go list prices (USD per hour, Linux, East US) scaled per region; they are for
demos and tests, not quotes. Besides the Linux pay-as-you-go meter every size also has Windows, Spot and a
1-year reservation row, as the real API has, so a client must pick the right one.
"""
from __future__ import annotations

import json
import re
from typing import Any

# size -> (productName series, meterName, USD/hour Linux pay-as-you-go in eastus, vCPUs)
PRICE_TABLE: dict[str, tuple[str, str, float, int]] = {
    "Standard_DS1_v2": ("DSv2 Series", "DS1 v2", 0.073, 1),
    "Standard_DS2_v2": ("DSv2 Series", "DS2 v2", 0.146, 2),
    "Standard_D2_v2": ("Dv2 Series", "D2 v2", 0.146, 2),
    "Standard_D2s_v5": ("Dsv5 Series", "D2s v5", 0.096, 2),
    "Standard_D4s_v5": ("Dsv5 Series", "D4s v5", 0.192, 4),
    "Standard_D2ds_v5": ("Ddsv5 Series", "D2ds v5", 0.113, 2),
    "Standard_D4ds_v5": ("Ddsv5 Series", "D4ds v5", 0.226, 4),
    "Standard_D8ds_v5": ("Ddsv5 Series", "D8ds v5", 0.452, 8),
    "Standard_NC4as_T4_v3": ("NCasT4 v3 Series", "NC4as T4 v3", 0.526, 4),
    "Standard_NC24ads_A100_v4": ("NC A100 v4 Series", "NC24ads A100 v4", 3.673, 24),
    "Standard_NC40ads_H100_v5": ("NCads H100 v5 Series", "NC40ads H100 v5", 6.98, 40),
    "Standard_NV36ads_A10_v5": ("NVadsA10 v5 Series", "NV36ads A10 v5", 3.20, 36),
    "Standard_ND96asr_v4": ("NDasrA100 v4 Series", "ND96asr A100 v4", 27.197, 96),
}

# armRegionName -> (display location, price factor relative to eastus)
REGIONS: dict[str, tuple[str, float]] = {
    "eastus": ("US East", 1.0),
    "eastus2": ("US East 2", 1.0),
    "westus3": ("US West 3", 1.0),
    "southcentralus": ("US South Central", 1.04),
    "westeurope": ("EU West", 1.18),
    "swedencentral": ("SE Central", 1.10),
}

CURRENCIES: dict[str, float] = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79}
EFFECTIVE = "2026-01-01T00:00:00Z"
PATH = "/api/retail/prices"
PAGE = 100


def _items(currency: str) -> list[dict[str, Any]]:
    rate = CURRENCIES[currency]
    out: list[dict[str, Any]] = []
    for region, (display, factor) in REGIONS.items():
        for size, (series, meter, usd, vcpus) in PRICE_TABLE.items():
            linux = round(usd * factor * rate, 4)
            rows = [
                ("Consumption", f"Virtual Machines {series}", meter, linux, "1 Hour", None),
                ("Consumption", f"Virtual Machines {series} Windows", meter, round(linux + 0.046 * vcpus * rate, 4),
                 "1 Hour", None),
                ("Consumption", f"Virtual Machines {series}", f"{meter} Spot", round(linux * 0.2, 4), "1 Hour", None),
                ("Reservation", f"Virtual Machines {series}", meter, round(linux * 730 * 12 * 0.62, 2), "1 Hour",
                 "1 Year"),
            ]
            for kind, product, sku_name, price, unit, term in rows:
                item = {
                    "currencyCode": currency, "tierMinimumUnits": 0.0, "retailPrice": price, "unitPrice": price,
                    "armRegionName": region, "location": display, "effectiveStartDate": EFFECTIVE,
                    "meterId": f"sim-{region}-{size}-{kind}-{sku_name}".lower().replace(" ", "-"),
                    "meterName": sku_name, "productId": f"DZH318Z0{abs(hash(series)) % 10000:04d}",
                    "skuId": f"DZH318Z0-{size}", "productName": product, "skuName": sku_name,
                    "serviceName": "Virtual Machines", "serviceId": "DZH313Z7MMC8", "serviceFamily": "Compute",
                    "unitOfMeasure": unit, "type": kind, "isPrimaryMeterRegion": True, "armSkuName": size,
                }
                if term:
                    item["reservationTerm"] = term
                out.append(item)
    return out


# ------------------------------------------------------------------------------------------- OData $filter
_CLAUSE = re.compile(r"^\s*(?P<field>[A-Za-z]+)\s+eq\s+'(?P<value>(?:[^']|'')*)'\s*$", re.IGNORECASE)
_FIELD_ALIASES = {"pricetype": "type"}


class _BadFilter(ValueError):
    pass


def _split_top(text: str, word: str) -> list[str]:
    """Split on `` and `` / `` or `` outside quotes and parentheses."""
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    needle = f" {word} "
    low = text.lower()
    while i < len(text):
        ch = text[i]
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and depth == 0 and low.startswith(needle, i):
            parts.append(text[start:i])
            i += len(needle)
            start = i
            continue
        i += 1
    parts.append(text[start:])
    return parts


def _strip_parens(text: str) -> str:
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        inner = text[1:-1]
        depth = 0
        ok = True
        for ch in inner:
            depth += ch == "("
            depth -= ch == ")"
            if depth < 0:
                ok = False
                break
        if not ok:
            break
        text = inner.strip()
    return text


def _predicate(text: str):  # noqa: ANN202 - returns a predicate over an item
    text = _strip_parens(text)
    ors = _split_top(text, "or")
    if len(ors) > 1:
        preds = [_predicate(p) for p in ors]
        return lambda item: any(p(item) for p in preds)
    ands = _split_top(text, "and")
    if len(ands) > 1:
        preds = [_predicate(p) for p in ands]
        return lambda item: all(p(item) for p in preds)
    m = _CLAUSE.match(text)
    if not m:
        raise _BadFilter(text.strip())
    field = m.group("field").lower()
    field = _FIELD_ALIASES.get(field, field)
    value = m.group("value").replace("''", "'").lower()

    def pred(item: dict[str, Any]) -> bool:
        for k, v in item.items():
            if k.lower() == field:
                return str(v).lower() == value
        return False

    return pred


def _json(status: int, body: Any) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(body).encode()
    return status, {"Content-Type": "application/json; charset=utf-8", "Content-Length": str(len(data))}, data


def handle_prices(path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
    if path.split("?", 1)[0].rstrip("/").lower() != PATH:
        return _json(404, {"Error": {"Code": "NotFound", "Message": f"No route for {path}"}})
    q = {k.lower(): v[-1] for k, v in query.items() if v}
    currency = (q.get("currencycode") or "USD").strip("'\"").upper()
    if currency not in CURRENCIES:
        return _json(400, {"Error": {"Code": "InvalidCurrencyCode",
                                     "Message": f"Currency code {currency} is not supported."}})
    items = _items(currency)
    flt = q.get("$filter")
    if flt:
        try:
            pred = _predicate(flt)
        except _BadFilter as exc:
            return _json(400, {"Error": {"Code": "InvalidFilter", "Message": f"Invalid OData filter: {exc}"}})
        items = [i for i in items if pred(i)]
    try:
        skip = max(0, int(q.get("$skip") or 0))
    except ValueError:
        skip = 0
    page = items[skip:skip + PAGE]
    next_link = None
    if skip + PAGE < len(items):
        # the real API answers an absolute NextPageLink; the handler does not know its host, so the path is
        # relative to the server (a client joining it with its base URL follows it)
        from urllib.parse import urlencode
        params = {"currencyCode": f"'{currency}'", "$skip": str(skip + PAGE)}
        if flt:
            params["$filter"] = flt
        next_link = PATH + "?" + urlencode(params)
    return _json(200, {"BillingCurrency": currency, "CustomerEntityId": "Default", "CustomerEntityType": "Retail",
                       "Items": page, "NextPageLink": next_link, "Count": len(page)})
