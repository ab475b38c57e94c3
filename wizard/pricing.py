"""Hourly list prices of VM sizes from the Azure Retail Prices API (public, no sign-in).

https://prices.azure.com/api/retail/prices?$filter=serviceName eq 'Virtual Machines' and armRegionName eq
'eastus' and armSkuName eq 'Standard_NC4as_T4_v3' and priceType eq 'Consumption'

Requests go through azure-core's pipeline (``PipelineClient``) with a ``RetryPolicy`` and connect/read
timeouts; answers are cached per (location, size). A price is an *estimate*: the pay-as-you-go Linux list
price, without disks, networking, reservations or negotiated discounts. Looking prices up never blocks the
flow: ``lookup`` returns within its deadline and whatever did not arrive reads "price unavailable".

The base URL is configurable: the simulator serves a small bundled table at the same path
(``wizard/sim/prices.py``), so in simulation pass the simulator's base_url.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Iterable, Literal
from urllib.parse import urljoin

if TYPE_CHECKING:
    from azure.core import PipelineClient

log = logging.getLogger(__name__)

DEFAULT_PRICES_URL = "https://prices.azure.com"
PRICES_PATH = "/api/retail/prices"
API_VERSION = "2023-01-01-preview"
HOURS_PER_MONTH = 730  # Azure's pricing calculator month
ESTIMATE_LABEL = ("list-price estimate: Azure Retail Prices, pay-as-you-go, Linux; excludes disks, networking, "
                  "reservations and negotiated discounts")
MAX_PAGES = 5


@dataclass(frozen=True)
class Price:
    size: str
    location: str
    hourly: float
    currency: str
    meter: str = ""
    product: str = ""
    effective: str = ""

    @property
    def monthly(self) -> float:
        return self.hourly * HOURS_PER_MONTH


@dataclass(frozen=True)
class PriceResult:
    size: str
    status: Literal["ok", "not-found", "unavailable"]
    price: Price | None = None
    reason: str = ""

    @property
    def text(self) -> str:
        if self.price is not None:
            return f"{self.price.hourly:.3f} {self.price.currency}/h"
        return "price unavailable" + (f" ({self.reason})" if self.reason else "")


class PriceUnavailable(Exception):
    """The price service did not answer usefully (timeout, network, HTTP error, unreadable body)."""


def _odata_quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def price_filter(location: str, size: str) -> str:
    return (f"serviceName eq 'Virtual Machines' and armRegionName eq {_odata_quote(location.lower())} "
            f"and armSkuName eq {_odata_quote(size)} and priceType eq 'Consumption'")


def pick_price(items: Iterable[dict[str, Any]], location: str, size: str, currency: str,
               spot: bool = False) -> Price | None:
    """The pay-as-you-go Linux hourly meter among the API's items (Windows, Spot, Low Priority and
    reservation meters share the armSkuName and are skipped); with ``spot`` the Linux Spot meter instead."""
    best: dict[str, Any] | None = None
    for it in items:
        if str(it.get("armSkuName", "")).lower() != size.lower():
            continue
        if str(it.get("armRegionName", "")).lower() != location.lower():
            continue
        if str(it.get("type", "Consumption")) != "Consumption":
            continue
        product, sku_name = str(it.get("productName", "")), str(it.get("skuName", ""))
        meter = str(it.get("meterName", ""))
        if product.rstrip().endswith("Windows") or "Low Priority" in f"{sku_name} {meter}":
            continue
        if ("Spot" in f"{sku_name} {meter}") != spot:
            continue
        if "hour" not in str(it.get("unitOfMeasure", "1 Hour")).lower():
            continue
        try:
            float(it["retailPrice"])
        except (KeyError, TypeError, ValueError):
            continue
        key = (bool(it.get("isPrimaryMeterRegion", True)), str(it.get("effectiveStartDate", "")))
        if best is None or key > (bool(best.get("isPrimaryMeterRegion", True)), str(best.get("effectiveStartDate", ""))):
            best = it
    if best is None:
        return None
    return Price(size=size, location=location, hourly=float(best["retailPrice"]),
                 currency=str(best.get("currencyCode") or currency), meter=str(best.get("meterName", "")),
                 product=str(best.get("productName", "")), effective=str(best.get("effectiveStartDate", "")))


class PriceClient:
    """Retail Prices API client with a cache. Thread-safe; one instance can serve a whole session."""

    def __init__(self, base_url: str = DEFAULT_PRICES_URL, *, timeout: float = 5.0, retries: int = 1,
                 currency: str = "USD", ttl: float = 3600.0, user_agent: str = "aks-ai-wizard") -> None:
        from azure.core import PipelineClient
        from azure.core.pipeline import policies

        self.base_url = base_url.rstrip("/")
        self.timeout = float(timeout)
        self.currency = currency
        self.ttl = ttl
        self._cache: dict[tuple[str, str, bool], tuple[float, Price | None]] = {}
        self._lock = threading.Lock()
        self.requests_sent = 0
        self._client: "PipelineClient[Any, Any]" = PipelineClient(
            self.base_url,
            policies=[
                policies.HeadersPolicy({"Accept": "application/json"}),
                policies.UserAgentPolicy(user_agent),
                policies.RetryPolicy(retry_total=retries, retry_connect=retries, retry_read=retries,
                                     retry_status=retries, retry_backoff_factor=0.2, retry_backoff_max=1,
                                     timeout=self.timeout * (retries + 1)),
                policies.HttpLoggingPolicy(),
            ],
        )

    # ------------------------------------------------------------------------------------------- one price
    def _get_json(self, url: str, params: dict[str, str] | None) -> dict[str, Any]:
        from azure.core.exceptions import AzureError
        from azure.core.rest import HttpRequest

        request = HttpRequest("GET", url, params=params)
        with self._lock:
            self.requests_sent += 1
        try:
            response = self._client.send_request(request, connection_timeout=self.timeout,
                                                 read_timeout=self.timeout)
        except AzureError as exc:
            raise PriceUnavailable(type(exc).__name__ + (": timed out" if "timeout" in str(exc).lower()
                                                          or "timed out" in str(exc).lower() else "")) from exc
        except Exception as exc:  # noqa: BLE001 - any transport failure means "no price", never a crash
            raise PriceUnavailable(type(exc).__name__) from exc
        if response.status_code != 200:
            raise PriceUnavailable(f"HTTP {response.status_code}")
        try:
            body = response.json()
        except Exception as exc:  # noqa: BLE001
            raise PriceUnavailable("unreadable answer") from exc
        if not isinstance(body, dict):
            raise PriceUnavailable("unreadable answer")
        return body

    def hourly(self, location: str, size: str, spot: bool = False) -> Price | None:
        """The hourly price (``spot``: of Spot VMs), or None when the API lists none; raises PriceUnavailable on
        failure."""
        key = (location.lower(), size.lower(), spot)
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        items: list[dict[str, Any]] = []
        url: str | None = self.base_url + PRICES_PATH
        params: dict[str, str] | None = {"api-version": API_VERSION, "currencyCode": f"'{self.currency}'",
                                         "$filter": price_filter(location, size)}
        for _ in range(MAX_PAGES):
            if not url:
                break
            body = self._get_json(url, params)
            items.extend(i for i in body.get("Items") or [] if isinstance(i, dict))
            nxt = body.get("NextPageLink") or None
            url, params = (urljoin(self.base_url + "/", nxt) if nxt else None), None
        price = pick_price(items, location, size, self.currency, spot)
        with self._lock:
            self._cache[key] = (time.monotonic(), price)
        return price

    def cached(self, location: str, size: str, spot: bool = False) -> PriceResult | None:
        with self._lock:
            hit = self._cache.get((location.lower(), size.lower(), spot))
        if hit is None or time.monotonic() - hit[0] >= self.ttl:
            return None
        return PriceResult(size, "ok", hit[1]) if hit[1] else PriceResult(size, "not-found", reason="not listed")

    def result(self, location: str, size: str, spot: bool = False) -> PriceResult:
        try:
            price = self.hourly(location, size, spot)
        except PriceUnavailable as exc:
            log.info("price of %s in %s unavailable: %s", size, location, exc)
            return PriceResult(size, "unavailable", reason=str(exc))
        return PriceResult(size, "ok", price) if price else PriceResult(size, "not-found", reason="not listed")

    # ------------------------------------------------------------------------------------------- many prices
    def lookup(self, location: str, sizes: Iterable[str], deadline: float | None = None,
               workers: int = 8, spot: bool = False) -> dict[str, PriceResult]:
        """Prices of several sizes (``spot``: their Spot prices), concurrently; returns after at most ``deadline``
        seconds (default: the timeout plus a little). Sizes whose answer did not arrive in time read "price
        unavailable"."""
        sizes = list(dict.fromkeys(sizes))
        out: dict[str, PriceResult] = {}
        todo = []
        for s in sizes:
            hit = self.cached(location, s, spot)
            if hit is not None:
                out[s] = hit
            else:
                todo.append(s)
        if not todo:
            return out
        limit = deadline if deadline is not None else self.timeout + 0.5
        # daemon threads: a price service that hangs never holds up the flow, nor the process at exit
        results: dict[str, PriceResult] = {}
        gate = threading.Semaphore(max(1, workers))
        finished = threading.Condition()

        def work(size: str) -> None:
            with gate:
                r = self.result(location, size, spot)
            with finished:
                results[size] = r
                finished.notify_all()

        for s in todo:
            threading.Thread(target=work, args=(s,), name=f"price-{s}", daemon=True).start()
        end = time.monotonic() + limit
        with finished:
            while len(results) < len(todo):
                left = end - time.monotonic()
                if left <= 0:
                    break
                finished.wait(left)
            got = dict(results)
        for s in todo:
            out[s] = got.get(s) or PriceResult(s, "unavailable", reason=f"no answer within {limit:g} s")
        return {s: out[s] for s in sizes}

    def close(self) -> None:
        try:
            self._client.close()
        except Exception:  # pragma: no cover
            pass


def estimate(price: Price | None, min_nodes: int, max_nodes: int) -> dict[str, Any]:
    """Hourly and monthly cost at the node range, as a dict ready for JSON and text rendering."""
    if price is None:
        return {"available": False, "label": ESTIMATE_LABEL, "text": "price unavailable"}
    out = {
        "available": True,
        "label": ESTIMATE_LABEL,
        "currency": price.currency,
        "hourly_per_node": round(price.hourly, 4),
        "hourly_min": round(price.hourly * min_nodes, 2),
        "hourly_max": round(price.hourly * max_nodes, 2),
        "monthly_min": round(price.monthly * min_nodes, 0),
        "monthly_max": round(price.monthly * max_nodes, 0),
        "price": asdict(price),
    }
    if min_nodes == max_nodes:
        out["text"] = (f"{out['hourly_min']:.2f} {price.currency}/h, about {out['monthly_min']:,.0f} {price.currency}"
                       f"/month at {min_nodes} node{'s' if min_nodes != 1 else ''}")
    else:
        out["text"] = (f"{out['hourly_min']:.2f}-{out['hourly_max']:.2f} {price.currency}/h, about "
                       f"{out['monthly_min']:,.0f}-{out['monthly_max']:,.0f} {price.currency}/month "
                       f"at {min_nodes}-{max_nodes} nodes")
    return out
