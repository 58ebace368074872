"""Rank-change announcements: decisions (:mod:`.changes`), the polling cycle and outbox
(:mod:`.cycle`) and delivery to Discord (:mod:`.delivery`)."""
