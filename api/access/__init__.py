"""Who reaches an image and what a person reaches, and why."""
