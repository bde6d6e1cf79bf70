"""Anchoring the audit trail outside the database: signed checkpoints of the chain's tip
written to write-once storage, verification against them, and offline evidence packs.

A database superuser can rewrite every row of ``audit_auditevent`` and recompute every
hash; they cannot sign with a key they do not hold, nor rewrite an S3 object under a
compliance-mode Object Lock. See ``docs/audit.md``.
"""
