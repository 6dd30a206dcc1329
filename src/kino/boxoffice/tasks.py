"""Job bodies of the box office: the mail that goes with orders and cancellations.

Each reloads the order when it runs, so the mail tells how things are; sending is retried
when the mail server is away (a retry after a send that did go through sends it twice, which
beats not sending it).
"""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from kino.boxoffice import orders, sales_mail
from kino.boxoffice.sales_schemas import OrderRead
from kino.boxoffice.tickets import MAIL_CANCELLATION_JOB, TicketPolicy
from kino.core.mail import create_mailer
from kino.identity.models import User
from kino.jobs.registry import job_handler
from kino.jobs.runner import JobContext, JobFailed, TransientJobError

ACCOUNT_PATH = "/account"


@job_handler(orders.ORDER_MAIL_JOB)
async def mail_order(ctx: JobContext) -> None:
    order, user = await _order_and_buyer(ctx, int(ctx.payload["order_id"]))
    message = sales_mail.order_confirmation(
        order,
        user,
        sender=ctx.settings.mail_from,
        account_url=f"{ctx.settings.public_url.rstrip('/')}{ACCOUNT_PATH}",
    )
    await _send(ctx, message)


@job_handler(MAIL_CANCELLATION_JOB)
async def mail_cancellation(ctx: JobContext) -> None:
    order, user = await _order_and_buyer(ctx, int(ctx.payload["order_id"]))
    message = sales_mail.cancellation_notice(
        order,
        user,
        [str(reference) for reference in ctx.payload["references"]],
        str(ctx.payload["reason"]),
        sender=ctx.settings.mail_from,
    )
    if message is not None:
        await _send(ctx, message)


async def _order_and_buyer(ctx: JobContext, order_id: int) -> tuple[OrderRead, User]:
    policy = TicketPolicy.from_settings(ctx.settings)
    async with ctx.db.transaction() as session:
        order = await orders.read_order(session, order_id, policy)
        user = await session.get(User, order.user_id)
    if user is None or not order.tickets:
        raise JobFailed(f"order {order_id} has no buyer or no tickets to mail")
    return order, user


async def _send(ctx: JobContext, message: EmailMessage) -> None:
    try:
        await create_mailer(ctx.settings).send(message)
    except (aiosmtplib.SMTPException, OSError) as error:
        raise TransientJobError(f"the mail server did not take the mail: {error}") from error
