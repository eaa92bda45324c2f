"""Webhooks: telling a team's other tools what happened to its images.

A webhook is a URL, for a namespace (a person's or a team's) or one image in it, told about the
events its Owners chose (`events.EVENTS`). `events.emit` makes one delivery per matching webhook
when something happens, in the caller's transaction; a worker (`manage.py webhook_worker`)
sends it, signed the Standard Webhooks way, retrying as `delivery.SCHEDULE` says, and pauses a
webhook that keeps failing (`delivery`). Every request goes through the outbound policy
(`lib.outbound`), at saving and at every send.
"""
