"""Saved EPCIS queries, webhook subscriptions to them, and their durable delivery."""
