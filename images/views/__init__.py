"""The web admin's pages, one module per resource, named as the client modules they call
(images/services/<resource>.py). Each reads the request, calls the service, and renders or
redirects; only images/urls.py imports them."""
