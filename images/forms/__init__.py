"""Forms of the web admin. They own validation, in words anyone can act on.

One module per resource, named as the views (images/views/) and the client
(images/services/) are.
"""
