"""Batches and everything that happens to them: registration, the lifecycle, operations, transfers,
transformations, genealogy, and exact quantities.
"""
