# loses: cache_fetches_each_page_once cache_shares_errors_and_retries
class PageCache:
    """Fetches each URL once, however many tasks ask for it at the same time."""

    def __init__(self, fetch):
        self.fetch = fetch
        self.pages = {}

    async def get(self, url: str) -> str:
        """The page at `url`: from memory, or from a new fetch."""
        if url not in self.pages:
            self.pages[url] = await self.fetch(url)  # tasks asking meanwhile all fetch too
        return self.pages[url]
