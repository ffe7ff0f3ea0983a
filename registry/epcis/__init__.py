"""GS1 EPCIS 2.0: the registry's events as EPCIS documents, captured documents as events, CBV
values, and the CBV 2.0 event hash.
"""
