"""Pure plant-floor concepts: plant file schema, tags and samples, errors. No I/O, no Qt, no asyncio."""
