"""The box office pages (both modes): cinemas near a position or in a city, a cinema's day, a
film's showtimes, the seat picker and its hold form, checkout with the sandbox card, the order
and my tickets with QR codes, cancelling; bad addresses are clear 4xx pages, and a viewer never
sees another's holds, orders or tickets."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from kino.app import create_app, dispose
from kino.settings import Settings
from tests.boxoffice.conftest import (
    BERLIN,
    client_for,
    create_cinema,
    create_hall,
    create_movie,
    create_showtime,
    hold,
    ok,
    seat_states,
    tomorrow_at,
)
from tests.boxoffice.sales import GOOD_CARD, NO_FUNDS_CARD, buy, sandbox, sleep_past
from tests.factories import SignedIn
from tests.web.conftest import csrf_token, post_form, sign_in
from tests.web.test_pages import _Markup

HAMBURG = {"name": "Abaton", "address": "Allende-Platz 3", "city": "Hamburg"}
HAMBURG_POSITION = {"latitude": 53.5673, "longitude": 9.9847, "time_zone": "Europe/Berlin"}
NEAR_BERLIN = "52.5200,13.4050"
HOLD_LINK = re.compile(r"/checkout/(\d+)")
ORDER_LINK = re.compile(r"/account/orders/(\d+)")
REFERENCE = re.compile(r'<code class="reference">([A-Z0-9]{8})</code>')


@pytest.fixture
async def cinema(client: httpx.AsyncClient, manager: SignedIn) -> Any:
    return await create_cinema(client, manager)


@pytest.fixture
async def movie_id(client: httpx.AsyncClient, manager: SignedIn) -> int:
    return await create_movie(client, manager, title="Stalker", age_rating="12")


@pytest.fixture
async def showtime(client: httpx.AsyncClient, manager: SignedIn, cinema: Any, movie_id: int) -> Any:
    hall = await create_hall(client, manager, cinema["id"])
    return await create_showtime(client, manager, movie_id, hall["id"], tomorrow_at(20, 15))


@pytest.fixture
async def app_with(settings: Settings) -> AsyncIterator[Callable[..., FastAPI]]:
    """Another app on the same database, with some settings changed."""
    apps: list[FastAPI] = []

    def make(**changes: Any) -> FastAPI:
        apps.append(create_app(settings.model_copy(update=changes)))
        return apps[-1]

    yield make
    for application in apps:
        await dispose(application)


def markup_problems(page: httpx.Response) -> list[str]:
    """What a CSP without unsafe-inline would block, and unlabelled fields."""
    markup = _Markup()
    markup.feed(page.text)
    unlabelled = [c for c in markup.controls if c not in markup.labels]
    problems = [f"unlabelled {name}" for name in unlabelled]
    problems += [f"style on {tag}" for tag in markup.style_attributes]
    problems += ["inline script"] * markup.inline_scripts + markup.handlers
    return problems


def seat_input(page: httpx.Response, name: str) -> str:
    match = re.search(
        rf'<input type="checkbox" class="seat-input" id="seat-{name}"[^>]*>', page.text
    )
    assert match, f"no seat {name}"
    return match.group(0)


async def hold_by_form(
    client: httpx.AsyncClient, showtime_id: int, seats: list[str]
) -> httpx.Response:
    token = await csrf_token(client, f"/showtimes/{showtime_id}")
    fields = {"csrf_token": token, "seat": seats}
    return await client.post(f"/showtimes/{showtime_id}/hold", data=fields)


async def held_checkout(client: httpx.AsyncClient, showtime_id: int, seats: list[str]) -> int:
    response = await hold_by_form(client, showtime_id, seats)
    assert response.status_code == 303, response.text
    match = HOLD_LINK.fullmatch(response.headers["location"])
    assert match
    return int(match.group(1))


async def pay_by_form(
    client: httpx.AsyncClient, hold_id: int, card: str = GOOD_CARD
) -> httpx.Response:
    page = await client.get(f"/checkout/{hold_id}")
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text)
    assert key, page.text
    fields = {"card_number": card, "idempotency_key": key.group(1)}
    return await post_form(client, f"/checkout/{hold_id}", fields, token=_token(page))


def _token(page: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


# ---------------------------------------------------------------------------- cinemas


async def test_cinemas_near_a_position_come_nearest_first_with_their_distance(
    client: httpx.AsyncClient, manager: SignedIn, cinema: Any
) -> None:
    await create_cinema(client, manager, **HAMBURG, **HAMBURG_POSITION)

    near = await client.get(f"/cinemas?near={NEAR_BERLIN}&radius_km=250")
    everywhere = await client.get("/cinemas")

    assert near.status_code == 200
    assert "geolocation=(self)" in near.headers["permissions-policy"]
    assert "Cinemas near me" in near.text
    assert "Kino International" in near.text
    assert "Abaton" not in near.text  # 255 km away
    assert re.search(r"<strong>\d\.\d km</strong>", near.text)
    assert f'href="/cinemas/{cinema["id"]}"' in near.text
    assert everywhere.text.index("Abaton") < everywhere.text.index("Kino International")
    assert markup_problems(near) == []


async def test_the_city_filter_shows_one_citys_cinemas_and_offers_every_city(
    client: httpx.AsyncClient, manager: SignedIn, cinema: Any
) -> None:
    await create_cinema(client, manager, **HAMBURG, **HAMBURG_POSITION)

    page = await client.get("/cinemas?city=hamburg")

    assert "Abaton" in page.text
    assert "Kino International" not in page.text
    assert '<option value="Berlin">Berlin</option>' in page.text
    assert '<option value="Hamburg" selected>Hamburg</option>' in page.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("near=garbage", "a position is LAT,LON in degrees"),
        ("near=91,13", "the latitude must be between -90 and 90"),
        ("near=52,nan", "the longitude must be between -180 and 180"),
        (f"near={NEAR_BERLIN}&radius_km=7", "the distance must be one of"),
        ("city=" + "x" * 101, "This address does not lead to a page."),
    ],
)
async def test_bad_query_values_are_a_clear_page_not_a_server_error(
    client: httpx.AsyncClient, query: str, message: str
) -> None:
    page = await client.get(f"/cinemas?{query}")

    assert 400 <= page.status_code < 500
    assert page.headers["content-type"].startswith("text/html")
    assert message in page.text


async def test_unknown_cinemas_showtimes_holds_and_orders_are_not_found(
    client: httpx.AsyncClient, viewer: SignedIn, cinema: Any
) -> None:
    await sign_in(client, viewer)
    for path in ("/cinemas/987654", "/showtimes/987654", "/checkout/987654"):
        assert (await client.get(path)).status_code == 404, path
    assert (await client.get("/account/orders/987654")).status_code == 404
    assert (await client.get("/showtimes/0")).status_code == 404
    bad_day = await client.get(f"/cinemas/{cinema['id']}?date=someday")
    assert bad_day.status_code == 422
    assert "a day is written like 2026-12-24" in bad_day.text


async def test_a_cinemas_page_lists_a_days_showtimes_by_film(
    client: httpx.AsyncClient, cinema: Any, showtime: Any
) -> None:
    day = tomorrow_at(0).date().isoformat()

    today = await client.get(f"/cinemas/{cinema['id']}")
    tomorrow = await client.get(f"/cinemas/{cinema['id']}?date={day}")

    assert today.status_code == 200
    assert f'href="/cinemas/{cinema["id"]}?date={day}"' in today.text
    assert "Kino International" in tomorrow.text
    assert f'href="/showtimes/{showtime["id"]}"' in tomorrow.text
    assert "<strong>20:15</strong>" in tomorrow.text
    assert "Stalker" in tomorrow.text
    assert "Saal 1" in tomorrow.text
    assert markup_problems(tomorrow) == []


async def test_the_film_page_shows_its_showtimes_by_cinema_and_day(
    client: httpx.AsyncClient, manager: SignedIn, showtime: Any, movie_id: int
) -> None:
    other_film = await create_movie(client, manager, title="Solaris")

    page = await client.get(f"/movies/{movie_id}")
    without = await client.get(f"/movies/{other_film}")

    assert '<h2 id="showtimes-title">Showtimes</h2>' in page.text
    assert f'href="/showtimes/{showtime["id"]}"' in page.text
    assert "Kino International" in page.text
    day = tomorrow_at(20, 15)
    assert f"{day.day} {day.strftime('%b')}" in page.text
    assert 'id="showtimes-title"' not in without.text


async def test_the_film_page_shows_three_days_per_cinema_and_links_to_the_rest(
    client: httpx.AsyncClient, manager: SignedIn, showtime: Any, movie_id: int
) -> None:
    for days_later in range(1, 5):
        starts_at = tomorrow_at(20, 15) + timedelta(days=days_later)
        await create_showtime(client, manager, movie_id, showtime["hall"]["id"], starts_at)

    page = await client.get(f"/movies/{movie_id}")

    assert page.text.count('class="programme-day"') == 3
    fourth_day = (tomorrow_at(20, 15) + timedelta(days=3)).date()
    assert f'href="/cinemas/{showtime["cinema"]["id"]}?date={fourth_day}"' in page.text


# ---------------------------------------------------------------------------- the seat picker


async def test_the_seat_picker_labels_every_seat_with_its_row_type_price_and_state(
    client: httpx.AsyncClient, manager: SignedIn, other: SignedIn, showtime: Any
) -> None:
    ok(await hold(client, other, showtime["id"], ["A2"]), 201)
    hall = showtime["hall"]["id"]
    blocked = {"seats": ["C1"], "reason": "broken"}
    ok(
        await client.post(
            f"/api/v1/halls/{hall}/blocked-seats", json=blocked, headers=manager.headers
        )
    )

    page = await client.get(f"/showtimes/{showtime['id']}")

    assert page.status_code == 200
    free = seat_input(page, "A1")
    assert 'aria-label="Row A seat 1, standard, 12.00 EUR"' in free
    assert "disabled" not in free
    assert 'aria-label="Row A seat 2, standard, 12.00 EUR, held by someone else"' in (
        seat_input(page, "A2")
    )
    assert " disabled" in seat_input(page, "A2")
    assert 'aria-label="Row B seat 1, premium, 15.00 EUR"' in seat_input(page, "B1")
    assert "wheelchair space, 9.00 EUR, not in use" in seat_input(page, "C1")
    assert 'aria-label="Row C seat 2, VIP, 25.00 EUR"' in seat_input(page, "C2")
    # Rows as wide as the widest (9): A has one gap, B two and one after, C five after.
    assert page.text.count('class="seat-gap"') == 9
    for price in ("12.00 EUR", "15.00 EUR", "25.00 EUR", "9.00 EUR"):
        assert f"<strong>{price}</strong>" in page.text
    assert f'data-seats-url="/api/v1/showtimes/{showtime["id"]}/seats"' in page.text
    assert "Sign in to hold seats" in page.text
    assert markup_problems(page) == []


async def test_signed_out_visitors_are_sent_to_sign_in_with_their_seats(
    client: httpx.AsyncClient, showtime: Any
) -> None:
    response = await hold_by_form(client, showtime["id"], ["A1", "A2"])

    assert response.status_code == 303
    assert response.headers["location"] == (
        f"/login?next=/showtimes/{showtime['id']}%3Fseats%3DA1%2CA2"
    )
    back = await client.get(f"/showtimes/{showtime['id']}?seats=A1,A2")
    assert " checked" in seat_input(back, "A1")
    assert "2 seats: A1, A2 · <strong>24.00 EUR</strong>" in back.text


async def test_holding_seats_through_the_form_leads_to_checkout(
    client: httpx.AsyncClient, viewer: SignedIn, showtime: Any
) -> None:
    await sign_in(client, viewer)

    hold_id = await held_checkout(client, showtime["id"], ["A1", "B2"])
    checkout = await client.get(f"/checkout/{hold_id}")

    assert checkout.status_code == 200
    assert "Row A, seat 1" in checkout.text
    assert "Row B, seat 2" in checkout.text
    assert "27.00 EUR" in checkout.text
    assert "4242 4242 4242 4242" in checkout.text
    assert re.search(r'data-seconds-left="(59\d|600)"', checkout.text)
    assert markup_problems(checkout) == []
    states = await seat_states(client, showtime["id"], viewer)
    assert (states["A1"], states["B2"]) == ("held", "held")
    again = await client.get(f"/showtimes/{showtime['id']}")
    assert " checked" in seat_input(again, "A1")  # my own hold shows as my choice
    assert "You are holding A1, B2." in again.text
    assert f'<a href="/checkout/{hold_id}">Go on to checkout</a>' in again.text


async def test_a_seat_taken_meanwhile_is_named_and_nothing_is_held(
    client: httpx.AsyncClient, viewer: SignedIn, other: SignedIn, showtime: Any
) -> None:
    await sign_in(client, viewer)
    token = await csrf_token(client, f"/showtimes/{showtime['id']}")
    ok(await hold(client, other, showtime["id"], ["A2"]), 201)

    fields = {"csrf_token": token, "seat": ["A1", "A2"]}
    page = await client.post(f"/showtimes/{showtime['id']}/hold", data=fields)

    assert page.status_code == 409
    assert "Sorry, A2 was just taken by someone else." in page.text
    assert " checked" in seat_input(page, "A1")
    assert " disabled" in seat_input(page, "A2")
    assert (await seat_states(client, showtime["id"]))["A1"] == "free"


@pytest.mark.parametrize(
    ("seats", "message"),
    [
        ([], "Choose at least one seat"),
        ([*(f"A{n}" for n in range(1, 9)), "B1", "B2", "B3"], "at most 10 seats"),
        (["A1", "'; DROP TABLE seats"], "Those are not seats of this hall"),
    ],
)
async def test_a_hold_of_no_seats_too_many_or_unknown_ones_says_so(
    client: httpx.AsyncClient, viewer: SignedIn, showtime: Any, seats: list[str], message: str
) -> None:
    await sign_in(client, viewer)

    page = await hold_by_form(client, showtime["id"], seats)

    assert page.status_code == 422
    assert message in page.text


async def test_a_hold_without_the_pages_csrf_token_is_refused(
    client: httpx.AsyncClient, viewer: SignedIn, showtime: Any
) -> None:
    await sign_in(client, viewer)

    response = await client.post(f"/showtimes/{showtime['id']}/hold", data={"seat": "A1"})

    assert response.status_code == 403
    assert (await seat_states(client, showtime["id"]))["A1"] == "free"


# ---------------------------------------------------------------------------- checkout


async def test_paying_with_the_test_card_shows_the_orders_tickets_with_qr_codes(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, showtime: Any
) -> None:
    await sign_in(client, viewer)
    hold_id = await held_checkout(client, showtime["id"], ["A3", "A4"])

    paid = await pay_by_form(client, hold_id)

    assert paid.status_code == 303
    order = await client.get(paid.headers["location"])
    assert order.status_code == 200
    assert "2 tickets, 24.00 EUR paid with the card ending 4242" in order.text
    assert len(REFERENCE.findall(order.text)) == 2
    assert order.text.count('<svg xmlns="http://www.w3.org/2000/svg" viewBox=') == 2
    assert "You earned <strong>24</strong> loyalty points" in order.text
    assert markup_problems(order) == []
    assert sum(charge.amount for charge in sandbox(app).charges.values()) == 2400
    assert (await client.get(f"/checkout/{hold_id}")).status_code in (303, 404)


async def test_a_declined_card_says_why_and_the_seats_stay_held(
    client: httpx.AsyncClient, viewer: SignedIn, showtime: Any
) -> None:
    await sign_in(client, viewer)
    hold_id = await held_checkout(client, showtime["id"], ["B1"])

    declined = await pay_by_form(client, hold_id, NO_FUNDS_CARD)

    assert declined.status_code == 402
    assert "Nothing was charged, and your seats stay held." in declined.text
    assert (await seat_states(client, showtime["id"], viewer))["B1"] == "held"
    retried = await pay_by_form(client, hold_id, GOOD_CARD)
    assert ORDER_LINK.fullmatch(retried.headers["location"])


async def test_a_mistyped_card_number_is_shown_beside_the_field(
    client: httpx.AsyncClient, viewer: SignedIn, showtime: Any
) -> None:
    await sign_in(client, viewer)
    hold_id = await held_checkout(client, showtime["id"], ["B1"])

    page = await pay_by_form(client, hold_id, "4242 4242 4242 4241")

    assert page.status_code == 422
    assert 'id="card-error"' in page.text
    assert "check digit" in page.text


async def test_the_same_checkout_form_sent_twice_makes_one_order(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn, showtime: Any
) -> None:
    await sign_in(client, viewer)
    hold_id = await held_checkout(client, showtime["id"], ["C2"])
    form = await client.get(f"/checkout/{hold_id}")
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form.text)
    assert key
    fields = {"card_number": GOOD_CARD, "idempotency_key": key.group(1)}

    first = await post_form(client, f"/checkout/{hold_id}", fields, token=_token(form))
    second = await post_form(client, f"/checkout/{hold_id}", fields, token=_token(form))

    assert first.headers["location"] == second.headers["location"]
    assert len(sandbox(app).charges) == 1


async def test_an_expired_hold_goes_back_to_the_seat_map_with_a_message(
    app_with: Callable[..., FastAPI], viewer: SignedIn, showtime: Any
) -> None:
    # Long enough for the checkout form to be fetched while the hold is live on a busy machine
    # (0.5 s was not, once).
    quick = app_with(seat_hold_seconds=2)
    async with client_for(quick) as client:
        await sign_in(client, viewer)
        hold_id = await held_checkout(client, showtime["id"], ["A5"])
        form = await client.get(f"/checkout/{hold_id}")
        held = ok(await client.get(f"/api/v1/holds/{hold_id}", headers=viewer.headers))
        await sleep_past(held["expires_at"])
        key = re.search(r'name="idempotency_key" value="([^"]+)"', form.text)
        assert key
        fields = {"card_number": GOOD_CARD, "idempotency_key": key.group(1)}

        paid = await post_form(client, f"/checkout/{hold_id}", fields, token=_token(form))
        opened = await client.get(f"/checkout/{hold_id}")
        seats = await client.get(paid.headers["location"])

    back = f"/showtimes/{showtime['id']}?notice=expired"
    assert (paid.status_code, paid.headers["location"]) == (303, back)
    assert opened.headers["location"] == back
    assert "Your hold expired" in seats.text
    assert sandbox(quick).charges == {}


# ---------------------------------------------------------------------------- my tickets


async def test_my_tickets_shows_upcoming_tickets_with_qr_codes_and_loyalty_points(
    client: httpx.AsyncClient, viewer: SignedIn, showtime: Any
) -> None:
    order = await buy(client, viewer, showtime["id"], ["B1", "B2"])
    await sign_in(client, viewer)

    page = await client.get("/account/tickets")

    assert page.status_code == 200
    for ticket in order["tickets"]:
        assert f'<code class="reference">{ticket["reference"]}</code>' in page.text
    assert "Row B, seat 1" in page.text
    assert "Kino International" in page.text
    assert "Saal 1" in page.text
    start = datetime.fromisoformat(showtime["starts_at"]).astimezone(BERLIN)
    assert f"<strong>{start.strftime('%a')} {start.day} {start.strftime('%b %Y')}, 20:15" in (
        page.text
    )
    assert page.text.count("<svg") == 2
    assert "<strong data-loyalty-points>30</strong> loyalty points" in page.text
    assert 'href="/account/tickets" aria-current="page"' in page.text
    assert markup_problems(page) == []


async def test_a_ticket_is_cancelled_with_a_refund_until_the_cut_off(
    client: httpx.AsyncClient, viewer: SignedIn, showtime: Any
) -> None:
    order = await buy(client, viewer, showtime["id"], ["A6", "A7"])
    reference = order["tickets"][0]["reference"]
    await sign_in(client, viewer)
    page = await client.get("/account/tickets")
    assert f'data-confirm="Cancel ticket {reference}' in page.text

    cancelled = await post_form(client, f"/account/tickets/{reference}/cancel", token=_token(page))

    assert cancelled.status_code == 303
    after = await client.get(cancelled.headers["location"])
    assert f"Ticket {reference} is cancelled. Its full price goes back to your card." in after.text
    assert "Cancelled and refunded" in after.text
    assert after.text.count("<svg") == 1
    assert (await seat_states(client, showtime["id"]))["A6"] == "free"


async def test_after_the_cut_off_a_ticket_cannot_be_cancelled_and_the_page_says_why(
    app_with: Callable[..., FastAPI], viewer: SignedIn, showtime: Any
) -> None:
    strict = app_with(refund_cutoff_hours=72)  # the showtime is tomorrow: inside the cut-off
    async with client_for(strict) as client:
        order = await buy(client, viewer, showtime["id"], ["A8"])
        reference = order["tickets"][0]["reference"]
        await sign_in(client, viewer)
        page = await client.get("/account/tickets")
        refused = await post_form(
            client, f"/account/tickets/{reference}/cancel", token=_token(page)
        )

    assert "this ticket can no longer be cancelled" in page.text
    assert "Cancel for a refund" not in page.text
    assert refused.status_code == 409
    assert f"Ticket {reference} can no longer be cancelled: refunds end 72 hours" in refused.text


async def test_a_viewer_never_sees_or_changes_anothers_holds_orders_or_tickets(
    client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    viewer: SignedIn,
    other: SignedIn,
    showtime: Any,
) -> None:
    theirs = await buy(client, other, showtime["id"], ["C3"])
    their_hold = ok(await hold(client, other, showtime["id"], ["C4"]), 201)
    [ticket] = theirs["tickets"]
    await sign_in(browser, viewer)

    mine = await browser.get("/account/tickets")
    order = await browser.get(f"/account/orders/{theirs['id']}")
    checkout = await browser.get(f"/checkout/{their_hold['id']}")
    token = _token(mine)
    cancel = await post_form(browser, f"/account/tickets/{ticket['reference']}/cancel", token=token)
    pay = await post_form(
        browser,
        f"/checkout/{their_hold['id']}",
        {"card_number": GOOD_CARD, "idempotency_key": "stolen"},
        token=token,
    )

    assert ticket["reference"] not in mine.text
    assert "Tickets you buy for a cinema appear here" in mine.text
    assert (order.status_code, checkout.status_code) == (404, 404)
    assert (cancel.status_code, pay.status_code) == (404, 404)
    states = await seat_states(client, showtime["id"])
    assert (states["C3"], states["C4"]) == ("sold", "held")


async def test_my_tickets_and_checkout_need_signing_in(
    client: httpx.AsyncClient, showtime: Any
) -> None:
    tickets = await client.get("/account/tickets")
    checkout = await client.get("/checkout/1")

    assert (tickets.status_code, tickets.headers["location"]) == (
        303,
        "/login?next=/account/tickets",
    )
    assert checkout.headers["location"] == "/login?next=/checkout/1"


async def test_the_menu_and_account_pages_link_to_cinemas_and_my_tickets(
    client: httpx.AsyncClient, viewer: SignedIn
) -> None:
    await sign_in(client, viewer)

    page = await client.get("/account")

    assert '<a href="/cinemas">Cinemas</a>' in page.text
    assert '<li><a href="/account/tickets">My tickets</a></li>' in page.text
