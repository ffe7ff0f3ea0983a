"""Signing keys, signed tokens and Merkle proofs. Imports nothing from the rest of ChemTrace."""
