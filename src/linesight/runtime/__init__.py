"""The asyncio engine: a coordinator per connection, the sample bus, live cache, historian writer, health."""
