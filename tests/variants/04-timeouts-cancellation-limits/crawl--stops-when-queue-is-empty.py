# loses: crawl_visits_every_page_once
async def crawl(start: str, links: dict[str, list[str]], workers: int) -> dict[str, str]:
    """Workers quit as soon as the queue is empty, while another worker's page still has links to give."""
    queue = asyncio.Queue()
    queued = {start}
    pages = {}

    async def worker():
        while not queue.empty():
            url = queue.get_nowait()
            try:
                pages[url] = await course.download(url)
            except LookupError:
                continue
            for link in links.get(url, []):
                if link not in queued:
                    queued.add(link)
                    queue.put_nowait(link)

    queue.put_nowait(start)
    await asyncio.gather(*(worker() for _ in range(workers)))
    return pages
