"""Cleanup policies of an image or a namespace, previewed before they are saved."""
