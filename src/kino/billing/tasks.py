"""Job bodies of billing: carrying out a refund decided in a committed transaction."""

from __future__ import annotations

from kino.billing import service
from kino.billing.errors import PaymentProviderError
from kino.billing.providers import create_payment_provider
from kino.jobs.registry import job_handler
from kino.jobs.runner import JobContext, TransientJobError


@job_handler(service.REFUND_JOB)
async def refund(ctx: JobContext) -> None:
    """Idempotent: a refund already settled is left alone, and the provider gets the refund's
    id as its idempotency key."""
    provider = create_payment_provider(ctx.settings)
    try:
        await service.settle_refund(ctx.db, provider, int(ctx.payload["refund_id"]))
    except PaymentProviderError as error:
        raise TransientJobError(error.message) from error
