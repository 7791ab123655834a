"""facerec cloud service: recognition core, model bundle, REST API."""
