"""The audit log: who changed what, when and why — append-only, for every app."""
