"""Builds the offline model bundle (`facerec-models build`). Build time only: imports torch."""
