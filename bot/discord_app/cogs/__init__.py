"""Feature modules of the Discord bot; each has `async def setup(bot)`."""
