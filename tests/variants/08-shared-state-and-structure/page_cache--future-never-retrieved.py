# loses: cache_shares_errors_and_retries
class PageCache:
    """Fetches each URL once, however many tasks ask for it at the same time."""

    def __init__(self, fetch):
        self.fetch = fetch
        self.futures = {}

    async def get(self, url: str) -> str:
        """The first ask fetches and sets a future; the others await that future."""
        if url in self.futures:
            return await self.futures[url]
        future = self.futures[url] = asyncio.get_running_loop().create_future()
        try:
            page = await self.fetch(url)
        except Exception as error:
            del self.futures[url]
            future.set_exception(error)  # nobody retrieves it when nobody else was waiting
            raise
        future.set_result(page)
        return page
