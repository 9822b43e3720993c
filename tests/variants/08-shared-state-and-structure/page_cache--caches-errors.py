# loses: cache_shares_errors_and_retries
class PageCache:
    """Fetches each URL once, however many tasks ask for it at the same time."""

    def __init__(self, fetch):
        self.fetch = fetch
        self.fetches = {}

    async def get(self, url: str) -> str:
        """The page at `url`: from the one fetch of it, started by the first ask."""
        if url not in self.fetches:
            self.fetches[url] = asyncio.create_task(self.fetch(url))  # a failed fetch stays here forever
        return await asyncio.shield(self.fetches[url])
