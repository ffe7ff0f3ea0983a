"""The append-only, tamper-evident history: events, their canonical records and queries, the RFC
9162 Merkle tree with signed checkpoints, and its audit.
"""
