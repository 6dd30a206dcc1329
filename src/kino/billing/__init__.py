"""Billing: payments and refunds, and the ``PaymentProvider`` port with its adapters (the built-in
sandbox now, Stripe later). Plans, subscriptions and rentals come here too."""
