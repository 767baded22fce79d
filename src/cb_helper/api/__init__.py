"""The CircleCI API v2 layer: the HTTP client, pagination, retries, the token, polling, durations and CircleCI's words.

Nothing here knows the circleback pattern: it imports nothing else from ``cb_helper`` but the package's version.
"""
