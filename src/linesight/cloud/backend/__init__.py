"""The multi-tenant fleet backend: MQTT consumer, SQL storage, provisioning, fleet API and web page.

A separate service (``linesight-cloud``): it shares only the message codec and the domain with the
edge, never the HMI, the drivers, the runtime or the edge's historian.
"""
