"""What people do and ask once the plan is in.

Members and invites, a unit's duties, the office's review (the writes), and the
questions of progress and lookups by name (the reads).
"""
