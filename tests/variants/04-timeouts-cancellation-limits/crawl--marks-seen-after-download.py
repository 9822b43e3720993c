# loses: crawl_visits_every_page_once
async def crawl(start: str, links: dict[str, list[str]], workers: int) -> dict[str, str]:
    """Remembers a URL only once it has been downloaded: two pages linking to it queue it twice."""
    queue = asyncio.Queue()
    done = set()
    pages = {}

    async def worker():
        while True:
            url = await queue.get()
            try:
                if url not in done:
                    pages[url] = await course.download(url)
                    done.add(url)
                    for link in links.get(url, []):
                        if link not in done:
                            queue.put_nowait(link)
            except LookupError:
                pass
            finally:
                queue.task_done()

    queue.put_nowait(start)
    tasks = [asyncio.create_task(worker()) for _ in range(workers)]
    await queue.join()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return pages
