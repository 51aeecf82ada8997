"""The curated evidence store: schema, loading, checks and statistics."""
from .store import EvidenceError, Problem, Store, load_store

__all__ = ["load_store", "Store", "Problem", "EvidenceError"]
