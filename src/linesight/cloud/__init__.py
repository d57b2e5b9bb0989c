"""Cloud sync: the edge's forwarder (historian → MQTT), the message codec both ends share, and the
fleet backend (``backend/``, a separate service: ``linesight-cloud``)."""
