"""Fleet backend tests: provisioning, ingest, consumer, API."""
