"""Builds of image tags, their logs, and the GitHub push webhook that starts them."""
