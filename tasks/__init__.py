"""The domain of taskbot: plans, tasks, units and the services that change them.

Nothing in this package knows about Telegram; everything is testable with a plain
database session and an injected clock.
"""
